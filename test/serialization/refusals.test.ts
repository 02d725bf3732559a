import { generateKeySync } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { MessageChannel, MessagePort } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Context, ContextSerializationError, ContextVar, copyContext } from '../../src/index.js';
import {
  DEFAULT_LIMITS,
  deserializeContext,
  type SerializeOptions,
  type SnapshotFormat,
  serializeContext,
} from '../../src/serialization/index.js';
import { codeOf, thrownBy } from '../support/errors.js';

const payload = new ContextVar<unknown>('refusals_payload');
const other = new ContextVar<string>('refusals_other');

function contextWith(value: unknown): Context {
  const ctx = new Context();
  ctx.run(() => {
    other.set('kept');
    payload.set(value);
  });
  return ctx;
}

function serializeError(value: unknown, options: SerializeOptions = {}): ContextSerializationError {
  return thrownBy(() => serializeContext(contextWith(value), options)) as ContextSerializationError;
}

/** `error` is the refusal of the payload var's value at `path`, saying so. */
function refusalAt(error: ContextSerializationError, path: string): ContextSerializationError {
  expect(error).toBeInstanceOf(ContextSerializationError);
  expect(error.code).toBe('ERR_CONTEXT_SERIALIZE');
  expect(error.varName).toBe('refusals_payload');
  expect(error.path).toBe(path);
  expect(error.message).toContain(`ContextVar 'refusals_payload'`);
  expect(error.message).toContain(path);
  return error;
}

const formats: SnapshotFormat[] = ['structured', 'json'];
// @types/node declares no WebAssembly globals.
const wasmMemory = (
  globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => object } }
).WebAssembly.Memory;

describe.each(formats)('%s: values that cannot leave the thread', (format) => {
  it.each([
    ['a function', { handler: { onDone: () => 1 } }, '.handler.onDone', /is a function/],
    ['a symbol', { list: [1, Symbol('s')] }, '.list[1]', /is a symbol/],
    ['a WeakMap', { cache: new WeakMap() }, '.cache', /is a WeakMap/],
    ['a Promise', new Map([['p', Promise.resolve(1)]]), '<map value #0>', /is a Promise/],
    ['a SharedArrayBuffer', { shared: new SharedArrayBuffer(8) }, '.shared', /SharedArrayBuffer/],
    ['a Proxy', { p: new Proxy({}, {}) }, '.p', /is a Proxy/],
    ['a boxed primitive', { n: Object(1) }, '.n', /boxed primitive/],
    ['a key with spaces', { 'odd key': () => 1 }, '["odd key"]', /is a function/],
  ])('refuses %s, naming the var and the path', (_label, value, path, reason) => {
    const error = refusalAt(serializeError(value, { format }), path);
    expect(error.message).toMatch(reason);
  });

  it('refuses a getter that throws, naming where', () => {
    const value = {
      get broken() {
        throw new Error('no');
      },
    };
    const error = serializeError({ nested: value }, { format });
    expect(error.path).toBe('.nested.broken');
    expect(error.message).toMatch(/threw when read/);
  });

  it('leaves the context unchanged after refusing it', () => {
    const fn = () => 1;
    const ctx = contextWith(fn);
    expect(codeOf(() => serializeContext(ctx, { format }))).toBe('ERR_CONTEXT_SERIALIZE');
    expect(ctx.get(payload)).toBe(fn);
    expect(ctx.get(other)).toBe('kept');
    expect(ctx.size).toBe(2);
  });

  it('refuses a value deeper than maxDepth where it is set to leave, and a receiver with the same options refuses it too', () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 10; i++) deep = { deeper: deep };
    const error = serializeError(deep, { format, maxDepth: 5 });
    expect(error.code).toBe('ERR_CONTEXT_SERIALIZE');
    expect(error.message).toMatch(/deeper than maxDepth \(5\)/);
    expect(error.path).toBe('.deeper.deeper.deeper.deeper.deeper');
    const wire = serializeContext(contextWith(deep), { format } as SerializeOptions);
    const readError = thrownBy(() =>
      deserializeContext(wire, { maxDepth: 5 }),
    ) as ContextSerializationError;
    expect(readError.code).toBe('ERR_CONTEXT_DESERIALIZE');
    expect(readError.message).toMatch(/maxDepth \(5\)/);
  });

  it('refuses a value over maxBytes at the source, naming it, and the receiver does too', () => {
    const big = { text: 'x'.repeat(2000) };
    const error = serializeError(big, { format, maxBytes: 1000 });
    expect(error.varName).toBe('refusals_payload');
    expect(error.message).toMatch(/maxBytes \(1000\)/);
    const wire = serializeContext(contextWith(big), { format } as SerializeOptions);
    expect(codeOf(() => deserializeContext(wire, { maxBytes: 1000 }))).toBe(
      'ERR_CONTEXT_DESERIALIZE',
    );
  });

  it('carries a value with heavy sharing: counted once per object, not once per path', () => {
    let node: Record<string, unknown> = { leaf: 'x'.repeat(100) };
    for (let i = 0; i < 40; i++) node = { a: node, b: node };
    const wire = serializeContext(contextWith(node), { format } as SerializeOptions);
    const back = deserializeContext(format === 'json' ? wire : structuredClone(wire)).get(
      payload,
    ) as Record<string, unknown>;
    expect(back.a).toBe(back.b);
  });

  it('measures a Map against maxDepth by its own nesting, the same on both sides', () => {
    const wire = serializeContext(contextWith(new Map([[1, new Set([2])]])), {
      format,
      maxDepth: 2,
    } as SerializeOptions);
    const back = deserializeContext(format === 'json' ? wire : structuredClone(wire), {
      maxDepth: 2,
    });
    expect(back.get(payload)).toEqual(new Map([[1, new Set([2])]]));
  });

  it('refuses a context whose many small values add up past maxBytes', () => {
    const ctx = new Context();
    const vars = Array.from({ length: 50 }, (_, i) => new ContextVar<string>(`refusals_many_${i}`));
    ctx.run(() => {
      for (const v of vars) v.set('y'.repeat(40));
    });
    expect(codeOf(() => serializeContext(ctx, { format, maxBytes: 1000 }))).toBe(
      'ERR_CONTEXT_SERIALIZE',
    );
  });
});

describe.each(formats)('%s: class instances without a codec', (format) => {
  class PgClient extends EventEmitter {
    readonly connection = { host: 'db.internal', user: 'app', password: 'hunter2' };
    query(sql: string): string {
      return sql;
    }
  }
  class Session {
    #token = 'secret';
    get token(): string {
      return this.#token;
    }
  }

  it.each([
    ['a DB client holding its password', () => ({ db: new PgClient() }), '.db <PgClient>'],
    [
      'a client with an error listener',
      () => ({ db: new PgClient().on('error', () => undefined) }),
      '.db <PgClient>',
    ],
    ['state in #private fields', () => ({ session: new Session() }), '.session <Session>'],
    ['an Intl formatter', () => [new Intl.NumberFormat('en')], '[0] <Intl.NumberFormat>'],
    ['a MessagePort', () => ({ port: new MessageChannel().port1 }), '.port <MessagePort>'],
    [
      'WebAssembly memory',
      () => new Map([['mem', new wasmMemory({ initial: 1 })]]),
      '<map value #0> <WebAssembly.Memory>',
    ],
  ])(
    'refuses %s, naming the var, the path and the class, with the remedy',
    (_label, make, path) => {
      const value = make();
      const error = refusalAt(serializeError(value, { format }), path);
      expect(error.message).toMatch(/codec/);
      expect(error.message).toMatch(/propagate: false/);
      for (const item of value instanceof Map ? value.values() : Object.values(value)) {
        if (item instanceof MessagePort) item.close();
      }
    },
  );

  it('names a class instance that is the value itself without an empty path: "the value <Session>"', () => {
    const error = refusalAt(serializeError(new Session(), { format }), '<Session>');
    expect(error.message).toContain(
      "ContextVar 'refusals_payload': the value <Session> is a class instance",
    );
    expect(error.message).not.toMatch(/ at +</);
    // And so does a receiver handed one.
    const arrived = thrownBy(() =>
      deserializeContext({ v: 2, f: 's', e: ['refusals_payload', 0, new Session()] }),
    ) as Error;
    expect(arrived.message).toContain("the value of 'refusals_payload' <Session> is a class");
  });

  it('travels through a codec, and stays home with propagate: false', () => {
    const client = new ContextVar<PgClient>(`refusals_client_${format}`, {
      codec: { encode: (c) => ({ host: c.connection.host }), decode: () => new PgClient() },
    });
    const local = new ContextVar<PgClient>(`refusals_local_${format}`, { propagate: false });
    const ctx = new Context();
    ctx.run(() => {
      client.set(new PgClient());
      local.set(new PgClient());
    });
    const wire =
      format === 'json'
        ? serializeContext(ctx, { format: 'json' })
        : structuredClone(serializeContext(ctx));
    const arrived = deserializeContext(wire);
    expect(arrived.get(client)).toBeInstanceOf(PgClient);
    expect(arrived.has(local)).toBe(false);
    expect(JSON.stringify(wire)).not.toContain('hunter2');
  });
});

describe('serializeContext arguments', () => {
  it('takes the current context by default', () => {
    const ctx = contextWith('now');
    const snapshot = ctx.run(() => serializeContext());
    expect(deserializeContext(snapshot).get(payload)).toBe('now');
  });

  it('refuses a ctx that is not a Context', () => {
    const call = () => serializeContext({} as Context);
    expect(call).toThrow(/"ctx" argument must be a Context/);
    expect(codeOf(call)).toBe('ERR_INVALID_ARG_TYPE');
  });

  it.each([
    [{ format: 'xml' }, 'ERR_INVALID_ARG_VALUE', /options\.format/],
    [{ key: 'secret' }, 'ERR_INVALID_ARG_VALUE', /options\.key.*signs json snapshots only/],
    [{ format: 'json', key: '' }, 'ERR_INVALID_ARG_VALUE', /options\.key/],
    [{ format: 'json', key: 42 }, 'ERR_INVALID_ARG_TYPE', /options\.key/],
    [{ maxBytes: 0 }, 'ERR_OUT_OF_RANGE', /options\.maxBytes/],
    [{ maxDepth: 1.5 }, 'ERR_OUT_OF_RANGE', /options\.maxDepth/],
    [{ maxDepth: '3' }, 'ERR_INVALID_ARG_TYPE', /options\.maxDepth/],
  ])('refuses options %j with %s', (options, code, message) => {
    const call = () => serializeContext(copyContext(), options as SerializeOptions);
    expect(codeOf(call)).toBe(code);
    expect(call).toThrow(message);
  });

  it('a `key` with the structured format is a TypeError', () => {
    expect(() => serializeContext(copyContext(), { key: 'k' } as SerializeOptions)).toThrow(
      TypeError,
    );
  });

  it('accepts Buffer and KeyObject keys', () => {
    const ctx = contextWith('signed');
    for (const key of [Buffer.from('bytes'), generateKeySync('hmac', { length: 256 })]) {
      const text = serializeContext(ctx, { format: 'json', key });
      expect(deserializeContext(text, { key }).get(payload)).toBe('signed');
    }
  });
});

describe('deserializeContext arguments', () => {
  it.each([
    [42, /not a number/],
    [null, /not null/],
    [undefined, /not undefined/],
    [[1, 2], /not an array/],
    [true, /not a boolean/],
  ])('refuses data %j as bad input, like any malformed snapshot', (data, message) => {
    const error = thrownBy(() => deserializeContext(data));
    expect(error).toBeInstanceOf(ContextSerializationError);
    expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_DESERIALIZE');
    expect((error as Error).message).toMatch(message);
  });

  it.each([
    [{ maxAge: 10 }, 'ERR_INVALID_ARG_VALUE', /maxAge.*needs options\.key/],
    [{ key: [] }, 'ERR_INVALID_ARG_VALUE', /at least one key/],
    [{ key: ['ok', 3] }, 'ERR_INVALID_ARG_TYPE', /options\.key\[1\]/],
    [{ key: 'k', maxAge: -1 }, 'ERR_OUT_OF_RANGE', /maxAge/],
    [{ maxBytes: -5 }, 'ERR_OUT_OF_RANGE', /maxBytes/],
  ])('refuses options %j', (options, code, message) => {
    const call = () => deserializeContext('{}', options as never);
    expect(codeOf(call)).toBe(code);
    expect(call).toThrow(message);
  });
});

describe('default limits', () => {
  it('are stated and sized for an HTTP header (json) and a thread (structured)', () => {
    expect(DEFAULT_LIMITS).toEqual({
      json: { maxBytes: 16 * 1024, maxDepth: 64 },
      structured: { maxBytes: 4 * 1024 * 1024, maxDepth: 64 },
    });
    const justOver = { text: 'z'.repeat(16 * 1024) };
    expect(codeOf(() => serializeContext(contextWith(justOver), { format: 'json' }))).toBe(
      'ERR_CONTEXT_SERIALIZE',
    );
    expect(() => serializeContext(contextWith(justOver))).not.toThrow();
  });
});
