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
    const order: string[] = [];
    const first = carried<string>('carry.first', {
      encode: (v) => v,
      decode: (raw) => {
        order.push('first');
        return raw as string;
      },
    });
    const second = carried<string>('carry.second', {
      encode: (v) => v,
      decode: (raw) => {
        // Decoded inside the first store's run.
        order.push(`second sees ${first.getStore()}`);
        return raw as string;
      },
    });
    const wire = first.run('one', () => second.run('two', () => send(format)));
    const seen = deserializeContext(wire).run(() => [first.getStore(), second.getStore()]);
    expect(seen).toEqual(['one', 'two']);
    expect(order).toEqual(['first', 'second sees one']);
  });
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
