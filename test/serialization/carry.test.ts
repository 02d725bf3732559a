// carry(als, { name, codec }): AsyncLocalStorage stores travel with snapshots
// and an arrived context's run restores them (DESIGN, "Carrying what is not a
// ContextVar"). Threads: test/workers/carried.test.ts.
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Context,
  ContextSerializationError,
  ContextVar,
  carry,
  copyContext,
  createTask,
} from '../../src/index.js';
import {
  deserializeContext,
  type SnapshotFormat,
  serializeContext,
} from '../../src/serialization/index.js';
import { codeOf, thrownBy } from '../support/errors.js';

let unregister: Array<() => void> = [];
afterEach(() => {
  for (const undo of unregister) undo();
  unregister = [];
});

function carried<T>(name: string, codec?: { encode(v: T): unknown; decode(raw: unknown): T }) {
  const als = new AsyncLocalStorage<T>();
  unregister.push(carry(als, codec === undefined ? { name } : { name, codec }));
  return als;
}

const formats: SnapshotFormat[] = ['structured', 'json'];
const send = (format: SnapshotFormat, ctx?: Context) =>
  format === 'json'
    ? serializeContext(ctx, { format: 'json' })
    : structuredClone(serializeContext(ctx));

describe.each(formats)('%s: a carried store', (format) => {
  it('travels with the snapshot and is current in the arrived context, as a copy', () => {
    const store = carried<{ user: string; roles: string[] }>('carry.request');
    const value = { user: 'ada', roles: ['admin'] };
    const wire = store.run(value, () => send(format));
    expect(store.getStore()).toBeUndefined();
    const seen = deserializeContext(wire).run(() => store.getStore());
    expect(seen).toEqual(value);
    expect(seen).not.toBe(value);
  });

  it('is read from the calling code when the snapshot is made, also for an explicit ctx', () => {
    const store = carried<string>('carry.read');
    const ctx = store.run('at capture', () => copyContext());
    const wire = store.run('at send', () => send(format, ctx));
    expect(deserializeContext(wire).run(() => store.getStore())).toBe('at send');
    expect(deserializeContext(send(format, ctx)).run(() => store.getStore())).toBeUndefined();
  });

  it('with no store current, nothing travels', () => {
    carried<string>('carry.empty');
    const wire = send(format);
    expect(JSON.stringify(wire)).not.toContain('carry.empty');
  });

  it('goes through its codec both ways', () => {
    class Session {
      constructor(readonly id: string) {}
    }
    const store = carried<Session>('carry.coded', {
      encode: (s) => ({ id: s.id }),
      decode: (raw) => new Session((raw as { id: string }).id),
    });
    const wire = store.run(new Session('s-1'), () => send(format));
    const seen = deserializeContext(wire).run(() => store.getStore());
    expect(seen).toBeInstanceOf(Session);
    expect(seen?.id).toBe('s-1');
  });

  it('refuses a class instance without a codec, naming the store, the path and the class', () => {
    class Logger {
      level = 'info';
    }
    const store = carried<{ log: Logger }>('carry.logger');
    const error = thrownBy(() => store.run({ log: new Logger() }, () => send(format)));
    expect(error).toBeInstanceOf(ContextSerializationError);
    expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_SERIALIZE');
    expect((error as ContextSerializationError).varName).toBe('carry.logger');
    expect((error as Error).message).toContain("carried store 'carry.logger'");
    expect((error as Error).message).toContain('.log <Logger>');
    // The remedy for a store: carry() has no propagate option.
    expect((error as Error).message).toContain('give carry() a codec');
    expect((error as Error).message).not.toContain('propagate');
  });

  it('copies made inside the arrived context see the same store object', async () => {
    const store = carried<{ n: number }>('carry.inherit');
    const wire = store.run({ n: 1 }, () => send(format));
    const [outer, inner] = await deserializeContext(wire).run(async () => {
      const mine = store.getStore();
      const theirs = await createTask(async () => {
        await Promise.resolve();
        return store.getStore();
      });
      return [mine, theirs];
    });
    expect(inner).toBe(outer);
  });

  it('is restored in registration order, the first outermost', () => {
    const first = carried<string>('carry.first');
    const second = new AsyncLocalStorage<string>();
    const restoredInside: Array<string | undefined> = [];
    unregister.push(
      carry(
        {
          getStore: () => second.getStore(),
          run: <R>(store: string, fn: () => R): R => {
            restoredInside.push(first.getStore());
            return second.run(store, fn);
          },
        },
        { name: 'carry.second' },
      ),
    );
    const wire = first.run('one', () => second.run('two', () => send(format)));
    const seen = deserializeContext(wire).run(() => [first.getStore(), second.getStore()]);
    expect(seen).toEqual(['one', 'two']);
    expect(restoredInside).toEqual(['one']);
  });
});

/** A store whose codec counts its decodes and refuses `{ poison: true }`. */
function counted(name: string) {
  const decoded: unknown[] = [];
  const store = carried<{ user: string; poison?: boolean; mark?: string }>(name, {
    encode: (value) => ({ ...value }),
    decode: (raw) => {
      decoded.push(raw);
      if ((raw as { poison?: boolean }).poison) throw new Error('a poisoned session');
      return { ...(raw as { user: string }) };
    },
  });
  return { store, decoded };
}

describe.each(formats)(
  '%s: carried entries are decoded once, when the context arrives',
  (format) => {
    it('decoded when the snapshot is read; every run restores the same store object', () => {
      const { store, decoded } = counted('carry.once');
      const wire = store.run({ user: 'ada' }, () => send(format));
      const ctx = deserializeContext(wire);
      expect(decoded).toHaveLength(1);
      const first = ctx.run(() => {
        const session = store.getStore();
        if (session !== undefined) session.mark = 'written by the first run';
        return session;
      });
      const second = ctx.run(() => store.getStore());
      expect(second).toBe(first);
      expect(second?.mark).toBe('written by the first run');
      expect(decoded).toHaveLength(1);
    });

    it('a codec that refuses refuses the whole arrival: deserializeContext throws ERR_CONTEXT_DESERIALIZE naming the store', () => {
      const { store } = counted('carry.refusing');
      const wire = store.run({ user: 'eve', poison: true }, () => send(format));
      const error = thrownBy(() => deserializeContext(wire));
      expect(error).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE', varName: 'carry.refusing' });
      expect((error as Error).message).toContain("carried store 'carry.refusing'");
      expect((error as Error).cause).toMatchObject({ message: 'a poisoned session' });
    });

    it('a store registered after its context arrived decodes at the first run, once', () => {
      const name = 'carry.late.once';
      const sender = new AsyncLocalStorage<{ user: string }>();
      const stop = carry(sender, {
        name,
        codec: { encode: (v) => v, decode: (raw) => raw as never },
      });
      const wire = sender.run({ user: 'ada' }, () => send(format));
      stop();
      const ctx = deserializeContext(wire);
      const { store, decoded } = counted(name);
      const [a, b] = [ctx.run(() => store.getStore()), ctx.run(() => store.getStore())];
      expect(a).toEqual({ user: 'ada' });
      expect(b).toBe(a);
      expect(decoded).toHaveLength(1);
    });

    it('each arrival of one snapshot decodes it anew, so two arrivals share no store object', () => {
      const { store, decoded } = counted('carry.twice.arrived');
      const wire = store.run({ user: 'ada' }, () => send(format));
      const [a, b] = [deserializeContext(wire), deserializeContext(wire)].map((ctx) =>
        ctx.run(() => store.getStore()),
      );
      expect(a).toEqual(b);
      expect(a).not.toBe(b);
      expect(decoded).toHaveLength(2);
    });
  },
);

describe("a store's codec is its contract", () => {
  it('a store registered with a codec never receives a value that arrived without the encoded mark', () => {
    const { store, decoded } = counted('carry.contract');
    // What a sender without the codec (or a forger) sends: the value, unmarked.
    const unmarked = { v: 1, f: 's', e: ['carry.contract', 0, { user: 'root', evil: true }] };
    const error = thrownBy(() => deserializeContext(unmarked));
    expect(error).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE', varName: 'carry.contract' });
    expect((error as Error).message).toMatch(
      /carried store 'carry\.contract' has a codec here.*not encoded by one/,
    );
    expect(decoded).toEqual([]);
    expect(store.getStore()).toBeUndefined();
  });

  it('a store without a codec receives what arrived as it is', () => {
    const store = carried<unknown>('carry.no.codec');
    const wire = { v: 1, f: 's', e: ['carry.no.codec', 0, { user: 'ada' }] };
    expect(deserializeContext(wire).run(() => store.getStore())).toEqual({ user: 'ada' });
  });
});

it('an oversized carried store is named as a carried store in the size refusal', () => {
  const store = carried<string>('carry.oversized');
  for (const format of formats) {
    const error = thrownBy(() =>
      store.run('x'.repeat(20_000), () =>
        serializeContext(undefined, { format, maxBytes: 16_384 }),
      ),
    );
    expect(error).toMatchObject({ code: 'ERR_CONTEXT_SERIALIZE', varName: 'carry.oversized' });
    expect((error as Error).message).toContain("carried store 'carry.oversized'");
    expect((error as Error).message).not.toContain('ContextVar');
  }
});

describe('names', () => {
  it('a store and a var with one name are refused by the sender, naming it', () => {
    const name = 'carry.clash.send';
    const store = carried<string>(name);
    const v = new ContextVar<string>(name);
    const ctx = new Context();
    ctx.run(() => v.set('var'));
    const error = thrownBy(() => store.run('store', () => serializeContext(ctx)));
    expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_SERIALIZE');
    expect((error as Error).message).toMatch(/ContextVar and a carried store are both named/);
    expect((error as ContextSerializationError).varName).toBe(name);
  });

  it('and by a receiver that declares both, naming it', () => {
    const name = 'carry.clash.receive';
    const wire = { v: 1, f: 's', e: [name, 0, 'x'] };
    carried<string>(name);
    const v = new ContextVar<string>(name);
    const error = thrownBy(() => deserializeContext(wire));
    expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_DESERIALIZE');
    expect((error as Error).message).toContain(name);
    expect(v.name).toBe(name);
  });

  it('a store that arrives before it is registered is pending: forwarded, then restored once registered', () => {
    const name = 'carry.late';
    const wire = { v: 1, f: 's', e: [name, 0, 'early'] };
    const ctx = deserializeContext(wire);
    expect(ctx.size).toBe(0);
    const forwarded = serializeContext(ctx);
    expect(forwarded.e).toEqual([name, 0, 'early']);
    const store = carried<string>(name);
    expect(ctx.run(() => store.getStore())).toBe('early');
  });

  it('an unregistered store is no longer captured; what arrived under its name stays pending', () => {
    const als = new AsyncLocalStorage<string>();
    const undo = carry(als, { name: 'carry.gone' });
    undo();
    expect(JSON.stringify(als.run('x', () => serializeContext()))).not.toContain('carry.gone');
    const ctx = deserializeContext({ v: 1, f: 's', e: ['carry.gone', 0, 'y'] });
    expect(ctx.run(() => als.getStore())).toBeUndefined();
    expect(serializeContext(ctx).e).toEqual(['carry.gone', 0, 'y']);
  });
});

describe('carry arguments', () => {
  it.each([
    ['not an AsyncLocalStorage', () => carry({} as never, { name: 'x' }), 'ERR_INVALID_ARG_TYPE'],
    [
      'no options',
      () => carry(new AsyncLocalStorage(), undefined as never),
      'ERR_INVALID_ARG_TYPE',
    ],
    ['an empty name', () => carry(new AsyncLocalStorage(), { name: '' }), 'ERR_INVALID_ARG_TYPE'],
    [
      'a codec without decode',
      () =>
        carry(new AsyncLocalStorage(), {
          name: 'x',
          codec: { encode: (v: unknown) => v } as never,
        }),
      'ERR_INVALID_ARG_TYPE',
    ],
  ])('refuses %s', (_label, call, code) => {
    expect(codeOf(call)).toBe(code);
  });

  it('refuses a second store under a name already carried', () => {
    carried<string>('carry.twice');
    const error = thrownBy(() => carry(new AsyncLocalStorage(), { name: 'carry.twice' }));
    expect((error as { code?: string }).code).toBe('ERR_INVALID_ARG_VALUE');
    expect((error as Error).message).toContain('carry.twice');
  });
});
