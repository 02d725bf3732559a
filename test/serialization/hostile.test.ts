// Untrusted input: structured-clone-es's known holes, the version rule,
// malformed payloads, and fast-check round trips and mutation fuzzing.
import fc from 'fast-check';
import { deserialize as libraryDeserialize } from 'structured-clone-es';
import { describe, expect, it } from 'vitest';
import { Context, ContextSerializationError, ContextVar } from '../../src/index.js';
import {
  deserializeContext,
  type SnapshotFormat,
  type StructuredSnapshot,
  serializeContext,
} from '../../src/serialization/index.js';
import { codeOf, thrownBy } from '../support/errors.js';
import { firstDifference } from '../support/same-value.js';

const box = new ContextVar<unknown>('hostile_box');
const other = new ContextVar<unknown>('hostile_other');

/** A json snapshot whose only entry is `box` with the given records. */
function jsonWithRecords(records: unknown): string {
  return `{"v":1,"f":"j","e":["hostile_box",1,${JSON.stringify(records)}]}`;
}

function structuredWithRecords(records: unknown): StructuredSnapshot {
  return { v: 1, f: 's', e: ['hostile_box', 1, records] };
}

function readBox(data: string | StructuredSnapshot, options = {}): unknown {
  return deserializeContext(data, options).get(box);
}

function refusal(fn: () => unknown): string {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(ContextSerializationError);
  expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_DESERIALIZE');
  return (error as Error).message;
}

describe("structured-clone-es's holes, closed", () => {
  it('an own __proto__ key in the records stays a key: no prototype pollution', () => {
    const records = [
      [2, [[1, 2]]],
      [0, '__proto__'],
      [2, [[3, 4]]],
      [0, 'isAdmin'],
      [0, true],
    ];
    // The library itself turns the key into the object's prototype:
    expect((libraryDeserialize(records) as { isAdmin?: boolean }).isAdmin).toBe(true);
    for (const data of [jsonWithRecords(records), structuredWithRecords(records)]) {
      const arrived = readBox(data) as Record<string, unknown>;
      expect(arrived.isAdmin).toBeUndefined();
      expect(Object.getPrototypeOf(arrived)).toBe(Object.prototype);
      expect(Object.hasOwn(arrived, '__proto__')).toBe(true);
    }
    expect(({} as { isAdmin?: boolean }).isAdmin).toBeUndefined();
  });

  it('a 26-byte payload cannot allocate 400 MB', () => {
    const tiny = [['Uint8Array', 400000000]];
    expect(JSON.stringify(tiny)).toHaveLength(26);
    expect(refusal(() => readBox(jsonWithRecords(tiny)))).toMatch(/unknown type/);
    // A typed-array record checks its declared range against its buffer first;
    // a sparse array has one slot per index, so it is as long as its input.
    const view = [
      ['~view', ['Uint8Array', 1, 0, 400000000]],
      ['~buffer', ''],
    ];
    expect(refusal(() => readBox(jsonWithRecords(view)))).toMatch(/range outside its buffer/);
    const sparse = [['~sparse', [400000000]]];
    expect(refusal(() => readBox(jsonWithRecords(sparse)))).toMatch(/does not exist/);
  });

  it('deep nesting is refused at maxDepth, never a RangeError', () => {
    const depth = 5000;
    const records = Array.from({ length: depth }, (_, i) =>
      i < depth - 1 ? [1, [i + 1]] : [0, 'leaf'],
    );
    expect(refusal(() => readBox(structuredWithRecords(records)))).toMatch(/maxDepth \(64\)/);
    const text = `{"v":1,"f":"j","e":["hostile_box",0,${'['.repeat(depth)}${']'.repeat(depth)}]}`;
    expect(refusal(() => readBox(text, { maxBytes: 1 << 20 }))).toMatch(/maxDepth/);
  });

  it('a record chain through keys cannot recurse without bound', () => {
    const records = Array.from({ length: 3000 }, (_, i) => [2, [[i + 1, 0]]]);
    expect(refusal(() => readBox(structuredWithRecords(records)))).toMatch(
      /key that is not a string/,
    );
  });

  it('a regex that does not compile, an invalid BigInt and bad base64 are coded errors', () => {
    expect(refusal(() => readBox(jsonWithRecords([[4, { source: '(', flags: '' }]])))).toMatch(
      /does not compile/,
    );
    expect(refusal(() => readBox(jsonWithRecords([[4, { source: 'a', flags: 'zz' }]])))).toMatch(
      /invalid RegExp/,
    );
    expect(refusal(() => readBox(jsonWithRecords([[8, '12x']])))).toMatch(/invalid BigInt/);
    expect(refusal(() => readBox(jsonWithRecords([['~buffer', '!!!!']])))).toMatch(/base64/);
  });

  it('an Error record cannot choose an arbitrary class or hang objects on the error', () => {
    const asFunction = [[7, { name: 'Function', message: 'x' }]];
    const arrived = readBox(jsonWithRecords(asFunction)) as Error;
    expect(Object.getPrototypeOf(arrived)).toBe(Error.prototype);
    expect(arrived.name).toBe('Function');
    const withObject = [
      [7, { name: 'Error', message: 'x', props: [[1, 2]] }],
      [0, 'code'],
      [2, []],
    ];
    expect(refusal(() => readBox(jsonWithRecords(withObject)))).toMatch(/invalid property code/);
  });

  it('functions and symbols are refused when sent, not dropped', () => {
    const ctx = new Context();
    ctx.run(() => box.set({ keep: 1, drop: () => 1 }));
    expect(codeOf(() => serializeContext(ctx, { format: 'json' }))).toBe('ERR_CONTEXT_SERIALIZE');
  });
});

describe('the version rule', () => {
  const currentJson = '{"v":1,"f":"j","e":["hostile_box",0,"ok"]}';

  it.each([
    ['json', (v: unknown) => currentJson.replace('"v":1', `"v":${JSON.stringify(v)}`)],
    [
      'structured',
      (v: unknown) => ({ v, f: 's', e: ['hostile_box', 0, 'ok'] }) as StructuredSnapshot,
    ],
  ])(
    '%s: reads versions 1 and 2, refuses newer, older and missing versions with a coded error',
    (_f, make) => {
      expect(readBox(make(1))).toBe('ok');
      expect(readBox(make(2))).toBe('ok');
      expect(refusal(() => readBox(make(3)))).toMatch(/format version 3 is not readable here/);
      expect(refusal(() => readBox(make(99)))).toMatch(/upgrade contextvars/);
      expect(refusal(() => readBox(make(0)))).toMatch(/format version 0/);
      expect(refusal(() => readBox(make('1')))).toMatch(/no format version/);
    },
  );
});

describe('malformed input', () => {
  it.each([
    ['not JSON', '{"v":1,'],
    ['not an object', '[1,2]'],
    ['not ASCII', '{"v":1,"f":"j","e":["hostile_box",0,"é"]}'],
    ['wrong format tag', '{"v":1,"f":"s","e":[]}'],
    ['entries not a list', '{"v":1,"f":"j","e":{}}'],
    ['entries not in threes', '{"v":1,"f":"j","e":["a",0]}'],
    ['a name that is not a string', '{"v":1,"f":"j","e":[1,0,0]}'],
    ['invalid flags', '{"v":1,"f":"j","e":["a",9,0]}'],
    ['records that are not a list', '{"v":1,"f":"j","e":["a",1,{}]}'],
    ['a reference out of range', '{"v":1,"f":"j","e":["a",1,[[1,[5]]]]}'],
    ['an unknown record type', '{"v":1,"f":"j","e":["a",1,[["Function","x"]]]}'],
    ['an over-long text', `{"v":1,"f":"j","e":["a",0,"${'x'.repeat(20000)}"]}`],
  ])('%s is refused with ERR_CONTEXT_DESERIALIZE', (_label, text) => {
    expect(codeOf(() => deserializeContext(text))).toBe('ERR_CONTEXT_DESERIALIZE');
  });

  it('every truncation of a valid payload is refused or reads back as a valid context', () => {
    const ctx = new Context();
    ctx.run(() => box.set({ at: new Date(0), list: [1, 'two'], nested: { m: new Map([[1, 2]]) } }));
    const text = serializeContext(ctx, { format: 'json' });
    for (let cut = 0; cut < text.length; cut++) {
      expect(codeOf(() => deserializeContext(text.slice(0, cut)))).toBe('ERR_CONTEXT_DESERIALIZE');
    }
  });
});

// Values of every kind the formats carry, with cycles and shared references.
const leaf = fc.oneof(
  fc.constantFrom(
    undefined,
    null,
    true,
    false,
    -0,
    0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ),
  fc.double(),
  fc.integer(),
  fc.bigInt(),
  fc.string({ unit: 'binary' }),
  fc.date({ noInvalidDate: false }),
  fc.constantFrom(/a+/g, /[\u00e9]/iu, /x/),
  fc.uint8Array().map((a) => a),
  fc.float64Array({ noDefaultInfinity: false }),
  fc.bigInt64Array(),
  fc.uint8Array({ minLength: 1 }).map((a) => new DataView(a.buffer)),
  fc.uint8Array().map((a) => a.buffer),
  fc
    .record({ message: fc.string(), code: fc.option(fc.string(), { nil: undefined }) })
    .chain(({ message, code }) =>
      fc.constantFrom(Error, RangeError, TypeError, SyntaxError).map((Ctor) => {
        const error = new Ctor(message);
        if (code !== undefined) Object.assign(error, { code });
        return error as unknown;
      }),
    ),
);
const { value: arbitraryValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('value')),
    fc.sparseArray(tie('value'), { maxLength: 8 }),
    fc.dictionary(fc.string(), tie('value'), { maxKeys: 5 }),
    fc
      .array(fc.tuple(tie('value'), tie('value')), { maxLength: 4 })
      .map((entries) => new Map(entries)),
    fc.array(tie('value'), { maxLength: 4 }).map((items) => new Set(items)),
    tie('value').map((cause) => new Error('with cause', { cause })),
  ),
}));
const graph = fc
  .tuple(arbitraryValue, fc.boolean(), fc.boolean())
  .map(([value, cyclic, shared]) => {
    const root: Record<string, unknown> = { value };
    if (cyclic) root.self = root;
    if (shared) root.again = value;
    return root;
  });

// Generated values hold Errors with full stacks: room beyond the header-sized default.
const roomy = { maxBytes: 1 << 22 };

function snapshotOf(
  value: unknown,
  format: SnapshotFormat,
  key?: string,
): string | StructuredSnapshot {
  const ctx = new Context();
  ctx.run(() => {
    box.set(value);
    other.set('side');
  });
  if (format === 'structured') return structuredClone(serializeContext(ctx, roomy));
  return key === undefined
    ? serializeContext(ctx, { format: 'json', ...roomy })
    : serializeContext(ctx, { format: 'json', key, ...roomy });
}

describe('property tests', () => {
  it.each([
    ['structured', undefined],
    ['json', undefined],
    ['json', 'signing-key'],
  ] as const)('%s (key %s): any carried value round-trips exactly', (format, key) => {
    fc.assert(
      fc.property(graph, (value) => {
        const back = deserializeContext(
          snapshotOf(value, format, key),
          key ? { key, ...roomy } : roomy,
        );
        const difference = firstDifference(value, back.get(box));
        expect(difference, difference).toBeUndefined();
        expect(back.get(other)).toBe('side');
      }),
      { numRuns: 150 },
    );
  });

  /** Allocation a decoded value holds: objects, their slots, and buffer bytes. */
  function weightOf(value: unknown, seen = new Set<object>()): number {
    if (typeof value !== 'object' || value === null || seen.has(value)) return 0;
    seen.add(value);
    if (value instanceof ArrayBuffer) return 1 + value.byteLength;
    if (ArrayBuffer.isView(value)) return 1 + weightOf(value.buffer, seen);
    const children =
      value instanceof Map
        ? [...value].flat()
        : value instanceof Set
          ? [...value]
          : Array.isArray(value)
            ? value
            : Object.values(value);
    const slots = Array.isArray(value) ? value.length : children.length;
    return 1 + slots + children.reduce<number>((sum, child) => sum + weightOf(child, seen), 0);
  }

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 6 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant('insert' as const),
      at: fc.nat(),
      text: fc.constantFrom(
        ',',
        '[',
        ']',
        '{',
        '"',
        '0',
        '-1',
        '99999999',
        '"__proto__"',
        '[2,[]]',
        ',"__proto__":{"polluted":1}',
      ),
    }),
    fc.record({
      kind: fc.constant('duplicate' as const),
      at: fc.nat(),
      length: fc.nat({ max: 40 }),
    }),
    fc.record({
      kind: fc.constant('hugeLength' as const),
      which: fc.constantFrom('~sparse', '~view'),
    }),
    fc.record({ kind: fc.constant('deepen' as const), depth: fc.integer({ min: 60, max: 3000 }) }),
  );

  function mutate(text: string, m: Record<string, unknown> & { kind: string }): string {
    const at = (n: unknown) => (text.length === 0 ? 0 : (n as number) % text.length);
    switch (m.kind) {
      case 'flip': {
        const i = at(m.at);
        return (
          text.slice(0, i) +
          String.fromCharCode(text.charCodeAt(i) ^ (1 << (m.bit as number))) +
          text.slice(i + 1)
        );
      }
      case 'truncate':
        return text.slice(0, at(m.at));
      case 'insert':
        return text.slice(0, at(m.at)) + (m.text as string) + text.slice(at(m.at));
      case 'duplicate': {
        const i = at(m.at);
        return text.slice(0, i) + text.slice(i, i + (m.length as number)) + text.slice(i);
      }
      case 'hugeLength':
        return m.which === '~sparse'
          ? text.replace('"e":[', '"e":["hostile_huge",1,[["~sparse",[4000000000]]],')
          : text.replace(
              '"e":[',
              '"e":["hostile_huge",1,[["~view",["Float64Array",1,0,99999999]],["~buffer","AAAA"]]],',
            );
      default:
        return text.replace(
          '"e":[',
          `"e":["hostile_deep",0,${'['.repeat(m.depth as number)}${']'.repeat(m.depth as number)},`,
        );
    }
  }

  it('mutated payloads give a coded error or a context that re-serializes to the same values; nothing is polluted and allocation stays bounded', () => {
    const limits = { maxBytes: 1 << 22, maxDepth: 64 };
    fc.assert(
      fc.property(graph, fc.array(mutation, { minLength: 1, maxLength: 3 }), (value, mutations) => {
        let text = snapshotOf(value, 'json') as string;
        for (const m of mutations) text = mutate(text, m);
        let ctx: Context;
        try {
          ctx = deserializeContext(text, limits);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('ERR_CONTEXT_DESERIALIZE');
          return;
        } finally {
          expect(Object.prototype).not.toHaveProperty('polluted');
          expect(Object.prototype).not.toHaveProperty('isAdmin');
        }
        const values = [...ctx.values()];
        expect(weightOf(values)).toBeLessThanOrEqual(2 * text.length + limits.maxBytes);
        const again = deserializeContext(
          serializeContext(ctx, { format: 'json', ...limits }),
          limits,
        );
        expect(firstDifference([...again.values()], values)).toBeUndefined();
      }),
      { numRuns: 400 },
    );
  });
});
