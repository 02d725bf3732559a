import { describe, expect, it } from 'vitest';
import { Context, type ContextSerializationError, ContextVar, Token } from '../../src/index.js';
import {
  deserializeContext,
  type SnapshotFormat,
  type StructuredSnapshot,
  serializeContext,
} from '../../src/serialization/index.js';
import { codeOf, thrownBy } from '../support/errors.js';
import { collectUnreachable } from '../support/gc.js';

let unique = 0;
/** A fresh var name per test, so the thread-wide registry never sees a clash from another test. */
function fresh(prefix: string): string {
  unique += 1;
  return `${prefix}_${unique}`;
}

function snapshotOf(
  setUp: () => void,
  format: SnapshotFormat = 'structured',
): StructuredSnapshot | string {
  const ctx = new Context();
  ctx.run(setUp);
  return format === 'json'
    ? serializeContext(ctx, { format: 'json' })
    : structuredClone(serializeContext(ctx));
}

/** A snapshot made by a "remote" sender: a var that exists only while the snapshot is made. */
function remoteSnapshot(name: string, value: unknown, coded = false): StructuredSnapshot {
  return { v: 1, f: 's', e: [name, coded ? 2 : 0, value] };
}

class Money {
  constructor(
    readonly cents: number,
    readonly currency: string,
  ) {}
  toString() {
    return `${(this.cents / 100).toFixed(2)} ${this.currency}`;
  }
}
const moneyCodec = {
  encode: (m: Money) => ({ cents: m.cents, currency: m.currency }),
  decode: (raw: unknown) => {
    const { cents, currency } = raw as { cents: number; currency: string };
    return new Money(cents, currency);
  },
};

describe('propagate: false', () => {
  it('never leaves the thread, in either format', () => {
    const secret = new ContextVar<string>(fresh('secret'), { propagate: false });
    const visible = new ContextVar<string>(fresh('visible'));
    for (const format of ['structured', 'json'] as const) {
      const wire = snapshotOf(() => {
        secret.set('password');
        visible.set('ok');
      }, format);
      expect(JSON.stringify(wire)).not.toContain('password');
      const back = deserializeContext(wire);
      expect(back.has(secret)).toBe(false);
      expect(back.get(visible)).toBe('ok');
    }
  });

  it('may hold values that could never be serialized', () => {
    const socketLike = new ContextVar<() => void>(fresh('handle'), { propagate: false });
    expect(() => snapshotOf(() => socketLike.set(() => undefined))).not.toThrow();
  });

  it('never adopts a pending entry of its name: nothing from outside may set it', () => {
    const name = fresh('guarded');
    const arrived = deserializeContext(remoteSnapshot(name, 'injected'));
    const guarded = new ContextVar<string>(name, { propagate: false, default: 'safe' });
    expect(arrived.run(() => guarded.get())).toBe('safe');
  });
});

describe('codecs', () => {
  it('class instances arrive as instances, in both formats', () => {
    const price = new ContextVar<Money>(fresh('price'), { codec: moneyCodec });
    for (const format of ['structured', 'json'] as const) {
      const back = deserializeContext(snapshotOf(() => price.set(new Money(1999, 'EUR')), format));
      const arrived = back.get(price);
      expect(arrived).toBeInstanceOf(Money);
      expect(String(arrived)).toBe('19.99 EUR');
    }
  });

  it('a receiver without the codec gets the encoded value', async () => {
    const name = fresh('price_nocodec');
    const wire = (() => {
      const sender = new ContextVar<Money>(name, { codec: moneyCodec });
      return snapshotOf(() => sender.set(new Money(5, 'USD')));
    })();
    // The receiver is another thread in real use; here the sender's var must be gone first.
    await collectUnreachable();
    const plain = new ContextVar<unknown>(name);
    expect(deserializeContext(wire).get(plain)).toEqual({ cents: 5, currency: 'USD' });
  });

  it('a sender codec that throws refuses the snapshot, naming the var, with the cause', () => {
    const name = fresh('bad_encode');
    const broken = new ContextVar<Money>(name, {
      codec: {
        encode: () => {
          throw new Error('cannot encode');
        },
        decode: (raw) => raw as Money,
      },
    });
    const ctx = new Context();
    ctx.run(() => broken.set(new Money(1, 'X')));
    const error = thrownBy(() => serializeContext(ctx)) as ContextSerializationError;
    expect(error.code).toBe('ERR_CONTEXT_SERIALIZE');
    expect(error.varName).toBe(name);
    expect((error.cause as Error).message).toBe('cannot encode');
  });

  it('a receiver codec that throws refuses the snapshot with ERR_CONTEXT_DESERIALIZE', () => {
    const name = fresh('bad_decode');
    const strict = new ContextVar<Money>(name, {
      codec: {
        encode: moneyCodec.encode,
        decode: () => {
          throw new Error('cannot decode');
        },
      },
    });
    const wire = snapshotOf(() => strict.set(new Money(1, 'X')));
    const error = thrownBy(() => deserializeContext(wire)) as ContextSerializationError;
    expect(error.code).toBe('ERR_CONTEXT_DESERIALIZE');
    expect(error.varName).toBe(name);
  });

  it('the codec output is checked like any value, naming the var', () => {
    const leaky = new ContextVar<Money>(fresh('leaky'), {
      codec: { encode: () => ({ f: () => 1 }), decode: (raw) => raw as Money },
    });
    const error = thrownBy(() =>
      snapshotOf(() => leaky.set(new Money(1, 'X'))),
    ) as ContextSerializationError;
    expect([error.code, error.path]).toEqual(['ERR_CONTEXT_SERIALIZE', '.f']);
  });
});

describe('one name, one propagating var on each side', () => {
  it('a sender with two propagating vars of one name in the snapshot refuses, naming the name', () => {
    const name = fresh('twice');
    const a = new ContextVar<number>(name);
    const b = new ContextVar<number>(name);
    const ctx = new Context();
    ctx.run(() => {
      a.set(1);
      b.set(2);
    });
    const error = thrownBy(() => serializeContext(ctx)) as ContextSerializationError;
    expect(error.code).toBe('ERR_CONTEXT_SERIALIZE');
    expect(error.varName).toBe(name);
    expect(error.message).toMatch(/two propagating ContextVars are named/);
    // Python allows the two vars in one thread; only crossing is refused.
    expect(ctx.run(() => [a.get(), b.get()])).toEqual([1, 2]);
  });

  it('a sender is fine when only one of two same-named vars has a value, or the other does not propagate', () => {
    const name = fresh('one_of_two');
    const a = new ContextVar<number>(name);
    const local = new ContextVar<number>(name, { propagate: false });
    expect(() =>
      snapshotOf(() => {
        a.set(1);
        local.set(2);
      }),
    ).not.toThrow();
  });

  it('a receiver with two declared propagating vars of an arriving name refuses, naming the name', () => {
    const name = fresh('ambiguous');
    const wire = remoteSnapshot(name, 'v');
    const first = new ContextVar<string>(name);
    const second = new ContextVar<string>(name);
    const error = thrownBy(() => deserializeContext(wire)) as ContextSerializationError;
    expect(error.code).toBe('ERR_CONTEXT_DESERIALIZE');
    expect(error.varName).toBe(name);
    expect(error.message).toMatch(/2 propagating ContextVars are named/);
    void [first, second];
  });

  it('a snapshot naming one var twice is refused', () => {
    const name = fresh('dup');
    const wire: StructuredSnapshot = { v: 1, f: 's', e: [name, 0, 1, name, 0, 2] };
    expect(codeOf(() => deserializeContext(wire))).toBe('ERR_CONTEXT_DESERIALIZE');
  });

  it('a collected var no longer declares its name', async () => {
    const name = fresh('collected');
    const wire = remoteSnapshot(name, 'v');
    (() => {
      new ContextVar<string>(name);
      new ContextVar<string>(name);
    })();
    expect(codeOf(() => deserializeContext(wire))).toBe('ERR_CONTEXT_DESERIALIZE');
    await collectUnreachable();
    expect(() => deserializeContext(wire)).not.toThrow();
  });
});

describe('pending entries: names no var here declares yet', () => {
  it('are invisible to the mapping API', () => {
    const known = new ContextVar<string>(fresh('known'));
    const wire: StructuredSnapshot = {
      v: 1,
      f: 's',
      e: [known.name, 0, 'k', fresh('unknown'), 0, 'u'],
    };
    const ctx = deserializeContext(wire);
    expect(ctx.size).toBe(1);
    expect([...ctx.keys()]).toEqual([known]);
    expect([...ctx.values()]).toEqual(['k']);
    expect([...ctx]).toEqual([[known, 'k']]);
  });

  it('are forwarded by every later snapshot of that context, in both formats', () => {
    const name = fresh('forwarded');
    const ctx = deserializeContext(remoteSnapshot(name, { deep: [1, 2] }));
    const again = deserializeContext(serializeContext(ctx, { format: 'json' }));
    const thrice = deserializeContext(structuredClone(serializeContext(again.copy())));
    const late = new ContextVar<unknown>(name);
    expect(thrice.get(late)).toEqual({ deep: [1, 2] });
  });

  it('are adopted by the first var of the name that gets, sets or asks has()', () => {
    const byGet = fresh('adopt_get');
    const byHas = fresh('adopt_has');
    const byCtxGet = fresh('adopt_ctxget');
    const ctx = deserializeContext({
      v: 1,
      f: 's',
      e: [byGet, 0, 'g', byHas, 0, 'h', byCtxGet, 0, 'c'],
    } satisfies StructuredSnapshot);
    const g = new ContextVar<string>(byGet);
    const h = new ContextVar<string>(byHas);
    const c = new ContextVar<string>(byCtxGet);
    expect(ctx.size).toBe(0);
    expect(ctx.run(() => g.get())).toBe('g');
    expect(ctx.has(h)).toBe(true);
    expect(ctx.get(c)).toBe('c');
    // From then on they are ordinary entries of those vars.
    expect(ctx.size).toBe(3);
    expect(new Set(ctx.keys())).toEqual(new Set([g, h, c]));
  });

  it('set adopts first: the token’s oldValue is the arrived value and reset restores it', () => {
    const name = fresh('adopt_set');
    const ctx = deserializeContext(remoteSnapshot(name, 'arrived'));
    const v = new ContextVar<string>(name);
    ctx.run(() => {
      const token = v.set('local');
      expect(token.oldValue).toBe('arrived');
      expect(token.oldValue).not.toBe(Token.MISSING);
      v.reset(token);
      expect(v.get()).toBe('arrived');
    });
    expect(ctx.get(v)).toBe('arrived');
    expect(ctx.size).toBe(1);
  });

  it('a copy made before adoption adopts on its own', () => {
    const name = fresh('adopt_copy');
    const ctx = deserializeContext(remoteSnapshot(name, 'x'));
    const copy = ctx.copy();
    const v = new ContextVar<string>(name);
    ctx.run(() => v.set('changed'));
    expect(copy.get(v)).toBe('x');
  });

  it('a codec decodes at adoption, when the sender encoded the value', () => {
    const name = fresh('adopt_codec');
    const ctx = deserializeContext(remoteSnapshot(name, { cents: 250, currency: 'GBP' }, true));
    const price = new ContextVar<Money>(name, { codec: moneyCodec });
    const arrived = ctx.run(() => price.get());
    expect(arrived).toBeInstanceOf(Money);
    expect(String(arrived)).toBe('2.50 GBP');
  });

  it('a codec that fails at adoption throws ERR_CONTEXT_DESERIALIZE and leaves the entry pending', () => {
    const name = fresh('adopt_fail');
    const ctx = deserializeContext(remoteSnapshot(name, 'not money', true));
    const failing = new ContextVar<Money>(name, {
      codec: {
        encode: moneyCodec.encode,
        decode: () => {
          throw new Error('bad');
        },
      },
    });
    expect(codeOf(() => ctx.run(() => failing.get()))).toBe('ERR_CONTEXT_DESERIALIZE');
    expect(ctx.size).toBe(0);
    expect(JSON.stringify(serializeContext(ctx))).toContain('not money');
  });
});

describe("the receiver's codec is its contract", () => {
  const raw = { cents: 'NaN', evil: true };

  it.each(['structured', 'json'] as const)(
    '%s: a value arriving without the encoded mark for a var with a codec is refused at arrival, naming it',
    (format) => {
      const name = fresh('contract_arrival');
      let decoded = 0;
      new ContextVar<Money>(name, {
        codec: {
          encode: moneyCodec.encode,
          decode: (value) => {
            decoded++;
            return moneyCodec.decode(value);
          },
        },
      });
      const wire =
        format === 'json'
          ? `{"v":2,"f":"j","e":[${JSON.stringify(name)},0,${JSON.stringify(raw)}]}`
          : remoteSnapshot(name, raw);
      const error = thrownBy(() => deserializeContext(wire)) as ContextSerializationError;
      expect(error.code).toBe('ERR_CONTEXT_DESERIALIZE');
      expect(error.varName).toBe(name);
      expect(error.message).toMatch(/was not encoded by a codec, and the var here has one/);
      expect(decoded).toBe(0);
    },
  );

  it('a pending entry without the encoded mark is refused when a var with a codec adopts it', () => {
    const name = fresh('contract_adoption');
    const ctx = deserializeContext(remoteSnapshot(name, raw));
    let decoded = 0;
    const price = new ContextVar<Money>(name, {
      codec: {
        encode: moneyCodec.encode,
        decode: (value) => {
          decoded++;
          return moneyCodec.decode(value);
        },
      },
    });
    for (const touch of [
      (): unknown => price.get(),
      () => price.set(new Money(1, 'X')),
      () => ctx.has(price),
    ]) {
      const error = thrownBy(() => ctx.run(touch)) as ContextSerializationError;
      expect([error.code, error.varName]).toEqual(['ERR_CONTEXT_DESERIALIZE', name]);
    }
    expect(decoded).toBe(0);
    expect(ctx.size).toBe(0);
  });

  it('a var without a codec still takes a value as it arrived, encoded or not', () => {
    const name = fresh('contract_plain');
    const ctx = deserializeContext(remoteSnapshot(name, { cents: 1 }, true));
    expect(ctx.get(new ContextVar<unknown>(name))).toEqual({ cents: 1 });
  });
});

describe('propagate: false names that arrived pending', () => {
  it.each(['structured', 'json'] as const)(
    '%s: a name this thread declares propagate: false never leaves, even when it arrived before the var was declared',
    (format) => {
      const name = fresh('late_secret');
      const tenant = new ContextVar<string>(fresh('late_secret_tenant'));
      const ctx = deserializeContext({
        v: 2,
        f: 's',
        e: [tenant.name, 0, 'acme', name, 0, 'hunter2'],
      } satisfies StructuredSnapshot);
      // Forwarded while no var here declares the name (and its encoding cached so).
      expect(JSON.stringify(serializeContext(ctx, { format }))).toContain('hunter2');
      const secret = new ContextVar<string>(name, { propagate: false, default: 'safe' });
      expect(JSON.stringify(serializeContext(ctx, { format }))).not.toContain('hunter2');
      expect(
        JSON.stringify(
          serializeContext(ctx.copy(), { format, ...(format === 'json' && { key: 'k' }) }),
        ),
      ).not.toContain(name);
      expect(ctx.run(() => secret.get())).toBe('safe');
      expect(deserializeContext(serializeContext(ctx, { format })).get(tenant)).toBe('acme');
    },
  );

  it('a pending name of a collected propagate: false var is forwarded again', async () => {
    const name = fresh('collected_secret');
    const ctx = deserializeContext(remoteSnapshot(name, 'v'));
    (() => new ContextVar<string>(name, { propagate: false }))();
    expect(serializeContext(ctx).e).not.toContain(name);
    await collectUnreachable();
    expect(serializeContext(ctx).e).toContain(name);
  });
});
