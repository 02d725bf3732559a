import { validateHeaderValue } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Context, ContextVar, LookupError } from '../../src/index.js';
import {
  deserializeContext,
  type SnapshotFormat,
  serializeContext,
} from '../../src/serialization/index.js';

const carried = new ContextVar<unknown>('values_carried');

/** Sends `value` through `format` as another thread would receive it. */
function roundTrip(value: unknown, format: SnapshotFormat): unknown {
  const ctx = new Context();
  ctx.run(() => carried.set(value));
  const wire =
    format === 'json'
      ? serializeContext(ctx, { format: 'json' })
      : structuredClone(serializeContext(ctx));
  return deserializeContext(wire).get(carried);
}

const formats: SnapshotFormat[] = ['structured', 'json'];

describe.each(formats)('%s format carries each kind of value', (format) => {
  const back = (value: unknown) => roundTrip(value, format);

  it('primitives, including -0, NaN, ±Infinity, BigInt and undefined', () => {
    for (const value of [
      undefined,
      null,
      true,
      false,
      0,
      -0,
      1.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.MAX_SAFE_INTEGER,
      10n ** 30n,
      -5n,
      '',
      'plain',
      '김철수',
      'del \u007f and nul \u0000',
      'lone \ud800 surrogate',
    ]) {
      expect(Object.is(back(value), value), String(value)).toBe(true);
    }
  });

  it('dense and sparse arrays', () => {
    expect(back([1, 'two', [3]])).toEqual([1, 'two', [3]]);
    // biome-ignore lint/suspicious/noSparseArray: holes are what is tested
    const sparse = back([1, , 3]) as unknown[];
    expect(sparse).toHaveLength(3);
    expect(1 in sparse).toBe(false);
    expect(sparse[2]).toBe(3);
    expect(back(new Array(5))).toHaveLength(5);
  });

  it('plain objects, keeping own __proto__ and constructor keys as data, prototype Object.prototype', () => {
    const tricky = JSON.parse(
      '{"__proto__": {"isAdmin": true}, "constructor": {"prototype": 1}, "a": 1}',
    );
    const arrived = back(tricky) as Record<string, unknown>;
    expect(Object.getPrototypeOf(arrived)).toBe(Object.prototype);
    expect(Object.hasOwn(arrived, '__proto__')).toBe(true);
    expect(arrived.isAdmin).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(arrived, '__proto__')?.value).toEqual({ isAdmin: true });
    expect(Object.getOwnPropertyDescriptor(arrived, 'constructor')?.value).toEqual({
      prototype: 1,
    });
    const nullProto = Object.assign(Object.create(null), { x: 1 });
    const fromNull = back(nullProto) as object;
    expect(Object.getPrototypeOf(fromNull)).toBe(Object.prototype);
    expect(fromNull).toEqual({ x: 1 });
  });

  it('subclasses of the built-ins travel as their base class', () => {
    class Registry extends Map<string, number> {}
    const map = back(new Registry([['a', 1]])) as Map<string, number>;
    expect(Object.getPrototypeOf(map)).toBe(Map.prototype);
    expect(map.get('a')).toBe(1);
    const bytes = back(Buffer.from([1, 2, 3])) as Uint8Array;
    expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    expect([...bytes]).toEqual([1, 2, 3]);
  });

  it('Map, Set, Date (also invalid) and RegExp', () => {
    const map = back(
      new Map<unknown, unknown>([
        [{ k: 1 }, 'object key'],
        ['s', new Set([1, 2])],
      ]),
    ) as Map<unknown, unknown>;
    expect([...map.keys()][0]).toEqual({ k: 1 });
    expect(map.get('s')).toEqual(new Set([1, 2]));
    expect((back(new Date(1_700_000_000_123)) as Date).getTime()).toBe(1_700_000_000_123);
    const invalid = back(new Date(Number.NaN));
    expect(invalid).toBeInstanceOf(Date);
    expect((invalid as Date).getTime()).toBeNaN();
    const regexp = back(/a+b/giu) as RegExp;
    expect([regexp.source, regexp.flags]).toEqual(['a+b', 'giu']);
  });

  it('ArrayBuffer, typed arrays and DataView, with only a view’s own bytes', () => {
    const buffer = new Uint8Array([1, 2, 3, 4]).buffer;
    expect(new Uint8Array(back(buffer) as ArrayBuffer)).toEqual(new Uint8Array([1, 2, 3, 4]));
    for (const view of [
      new Int8Array([-1, 2]),
      new Uint16Array([65535]),
      new Float64Array([Number.NaN, -0, 1.5]),
      new BigInt64Array([-(2n ** 63n)]),
      new Uint8ClampedArray([255]),
    ]) {
      const arrived = back(view) as ArrayBufferView;
      expect(arrived.constructor).toBe(view.constructor);
      expect(arrived).toEqual(view);
    }
    const dataView = back(new DataView(new Uint8Array([9, 8, 7]).buffer, 1, 2)) as DataView;
    expect(dataView).toBeInstanceOf(DataView);
    expect([dataView.byteLength, dataView.getUint8(0), dataView.buffer.byteLength]).toEqual([
      2, 8, 2,
    ]);
    // A small Buffer shares Node's 8 KiB pool: only its 3 bytes travel.
    const small = back(Buffer.from('hey')) as Uint8Array;
    expect([...small]).toEqual([104, 101, 121]);
    expect(small.buffer.byteLength).toBe(3);
  });

  it('Errors with name, message, stack, cause, code and own primitive properties', () => {
    const cause = new TypeError('inner');
    const error = Object.assign(new RangeError('outer', { cause }), {
      code: 'E_RANGE',
      errno: -2,
      retry: false,
      detail: { dropped: true },
    });
    const arrived = back(error) as RangeError & Record<string, unknown>;
    expect(arrived).toBeInstanceOf(RangeError);
    expect(arrived.name).toBe('RangeError');
    expect(arrived.message).toBe('outer');
    expect(arrived.stack).toBe(error.stack);
    expect(arrived.cause).toBeInstanceOf(TypeError);
    expect((arrived.cause as Error).message).toBe('inner');
    expect([arrived.code, arrived.errno, arrived.retry]).toEqual(['E_RANGE', -2, false]);
    // Objects hung on an error stay behind.
    expect(Object.hasOwn(arrived, 'detail')).toBe(false);
  });

  it('Errors of other classes keep their name; library errors keep their class', () => {
    class AbortError extends Error {
      override name = 'AbortError';
    }
    const abort = back(new AbortError('stopped')) as Error;
    expect(abort).toBeInstanceOf(Error);
    expect(abort.name).toBe('AbortError');
    const lookup = back(new LookupError('missing_var')) as LookupError;
    expect(lookup).toBeInstanceOf(LookupError);
    expect([lookup.code, lookup.varName]).toEqual(['ERR_CONTEXT_VAR_NOT_SET', 'missing_var']);
    const aggregate = back(new AggregateError([new Error('a')], 'many')) as AggregateError;
    expect(aggregate).toBeInstanceOf(AggregateError);
    expect(aggregate.errors[0]).toBeInstanceOf(Error);
  });

  it('shared references and cycles', () => {
    const shared = { n: 1 };
    const root: Record<string, unknown> = { a: shared, b: shared, list: [shared] };
    root.self = root;
    const arrived = back(root) as typeof root;
    expect(arrived.a).toBe(arrived.b);
    expect((arrived.list as unknown[])[0]).toBe(arrived.a);
    expect(arrived.self).toBe(arrived);
    const map = new Map<string, unknown>();
    map.set('me', map);
    const arrivedMap = back(map) as Map<string, unknown>;
    expect(arrivedMap.get('me')).toBe(arrivedMap);
  });
});

describe('json format text', () => {
  it('is printable ASCII that an HTTP header accepts, for any string content', () => {
    const ctx = new Context();
    ctx.run(() => carried.set({ user: '김철수', del: '\u007f', tab: '\t', emoji: '😀' }));
    const text = serializeContext(ctx, { format: 'json' });
    expect(text).toMatch(/^[\x20-\x7e]+$/);
    expect(() => validateHeaderValue('x-context', text)).not.toThrow();
    expect(deserializeContext(text).get(carried)).toEqual({
      user: '김철수',
      del: '\u007f',
      tab: '\t',
      emoji: '😀',
    });
  });

  it('carries JSON-exact values as plain JSON and the rest as records', () => {
    const ctx = new Context();
    ctx.run(() => carried.set({ id: 7, tags: ['a'] }));
    expect(serializeContext(ctx, { format: 'json' })).toContain(
      '"values_carried",0,{"id":7,"tags":["a"]}',
    );
    ctx.run(() => carried.set({ at: new Date(0) }));
    expect(serializeContext(ctx, { format: 'json' })).toContain('"values_carried",1,[[2,');
  });
});
