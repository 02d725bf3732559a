// One regression test per defect an adversarial review found in the wire
// layer (issue 7), each through the public API. Peers that throw crafted
// records are in test/workers/peer-safety.test.ts.
import { createSecretKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Context, ContextSerializationError, ContextVar } from '../../src/index.js';
import {
  deserializeContext,
  type StructuredSnapshot,
  serializeContext,
} from '../../src/serialization/index.js';
import { codeOf, thrownBy } from '../support/errors.js';
import { heapAfterGc } from '../support/gc.js';

const box = new ContextVar<unknown>('safety_box');

function refusedAsInput(fn: () => unknown): ContextSerializationError {
  const error = thrownBy(fn);
  expect(error).toBeInstanceOf(ContextSerializationError);
  expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_DESERIALIZE');
  return error as ContextSerializationError;
}

/** Heap a call's results keep alive, measured after full collections. */
function retainedBy(inputs: readonly unknown[], decode: (input: unknown) => unknown): number {
  const kept: unknown[] = [];
  const before = heapAfterGc();
  for (const input of inputs) {
    try {
      kept.push(decode(input));
    } catch (error) {
      expect((error as { code?: string }).code).toBe('ERR_CONTEXT_DESERIALIZE');
    }
  }
  const retained = heapAfterGc() - before;
  expect(kept.length).toBeLessThanOrEqual(inputs.length);
  return retained;
}

const MiB = 1024 * 1024;

describe('1. allocation is bounded by the whole input, never per record', () => {
  // Records that declare far more than they carry: sparse lengths, long hole
  // lists, one object referenced from everywhere.
  const claims = [
    [['~sparse', [4_000_000]]],
    [['~sparse', Array.from({ length: 2000 }, () => -1)]],
    [
      [1, Array.from({ length: 1000 }, () => 1)],
      [2, Array.from({ length: 200 }, (_, i) => [2 + i, 1])],
      ...Array.from({ length: 200 }, (_, i) => [0, `k${i}`]),
    ],
  ];

  it('structured: 200 small entries claiming millions of slots retain at most 64x their size', () => {
    for (const records of claims) {
      const entries = Array.from({ length: 200 }, (_, i) => [`bomb_${i}`, 1, records]).flat();
      const input: StructuredSnapshot = { v: 1, f: 's', e: entries };
      const size = JSON.stringify(input).length;
      const retained = retainedBy([input], (data) => deserializeContext(data));
      expect(retained).toBeLessThanOrEqual(64 * size + MiB);
    }
  });

  it('json: a text at the default limits retains at most 64x its length', () => {
    const records = JSON.stringify([['~sparse', [16_000]]]);
    let text = '{"v":1,"f":"j","e":[';
    for (let i = 0; text.length < 14_000; i++) text += `"bomb_${i}",1,${records},`;
    text = `${text.slice(0, -1)}]}`;
    const retained = retainedBy([text], (data) => deserializeContext(data));
    expect(retained).toBeLessThanOrEqual(64 * text.length + MiB);
  });

  it('a snapshot decoding to more than maxBytes is refused, whatever the records claim', () => {
    const shared = [
      [1, Array.from({ length: 400 }, () => 1)],
      [0, 'x'.repeat(200)],
    ];
    const input = { v: 1, f: 's', e: ['safety_box', 1, shared] };
    expect(refusedAsInput(() => deserializeContext(input, { maxBytes: 1000 })).message).toMatch(
      /maxBytes/,
    );
  });
});

describe('4. a typed-array view record that refers to itself', () => {
  it('is refused as malformed, in both formats', () => {
    const records = [['~view', ['Uint8Array', 0, 0, 0]]];
    const structured = { v: 1, f: 's', e: ['safety_box', 1, records] };
    const json = JSON.stringify(structured).replace('"f":"s"', '"f":"j"');
    for (const input of [structured, json]) {
      expect(refusedAsInput(() => deserializeContext(input)).message).toMatch(
        /refers to something other than an ArrayBuffer/,
      );
    }
  });

  it('and so is a view backed by another view', () => {
    const records = [
      ['~view', ['Uint8Array', 1, 0, 0]],
      ['~view', ['Uint8Array', 2, 0, 0]],
      ['~buffer', ''],
    ];
    expect(
      refusedAsInput(() => deserializeContext({ v: 1, f: 's', e: ['safety_box', 1, records] }))
        .message,
    ).toMatch(/other than an ArrayBuffer/);
  });
});

describe('5. a BigInt is measured without converting it to decimal', () => {
  it('a 4 MiB BigInt under maxBytes: 1024 is refused without a decimal conversion', () => {
    const huge = 1n << BigInt(4 * 8 * MiB);
    const ctx = new Context();
    ctx.run(() => box.set(huge));
    const toStringOf = BigInt.prototype.toString;
    const radixes: unknown[] = [];
    BigInt.prototype.toString = function (this: bigint, radix?: number) {
      radixes.push(radix);
      return toStringOf.call(this, radix);
    };
    try {
      for (const format of ['structured', 'json'] as const) {
        const error = thrownBy(() => serializeContext(ctx, { format, maxBytes: 1024 }));
        expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_SERIALIZE');
        expect((error as Error).message).toMatch(/safety_box/);
      }
    } finally {
      BigInt.prototype.toString = toStringOf;
    }
    expect(radixes.filter((radix) => radix === undefined || radix === 10)).toEqual([]);
  });

  it('a record holding more digits than a reader parses in linear time is refused', () => {
    const records = [[8, '9'.repeat(70_000)]];
    const input = { v: 1, f: 's', e: ['safety_box', 1, records] };
    expect(refusedAsInput(() => deserializeContext(input)).message).toMatch(/digits/);
  });
});

describe('6. a view counts what it carries', () => {
  const big = new ArrayBuffer(64 * MiB);
  const partial = new Uint8Array(big, 1024, 16);

  it('a natively cloned partial view counts its whole buffer against maxBytes', () => {
    const input = { v: 1, f: 's', e: ['safety_box', 0, partial] };
    expect(refusedAsInput(() => deserializeContext(input, { maxBytes: 100 })).message).toMatch(
      /larger than maxBytes/,
    );
  });

  it('a partial view sent by serializeContext carries only its own 16 bytes', () => {
    partial.fill(7);
    const ctx = new Context();
    ctx.run(() => box.set(partial));
    const wire = structuredClone(serializeContext(ctx, { maxBytes: 100 }));
    const arrived = deserializeContext(wire, { maxBytes: 100 }).get(box) as Uint8Array;
    expect(arrived.buffer.byteLength).toBe(16);
    expect([...arrived]).toEqual(Array.from({ length: 16 }, () => 7));
  });
});

describe('7. adopting pending entries costs O(1) per var, not O(pending)', () => {
  it('200 vars adopting from 20,000 pending names copy no map', () => {
    const entries: unknown[] = [];
    for (let i = 0; i < 20_000; i++) entries.push(`unknown_${i}`, 0, i);
    for (let i = 0; i < 200; i++) entries.push(`adopted_${i}`, 0, `value ${i}`);
    const ctx = deserializeContext({ v: 1, f: 's', e: entries });
    const vars = Array.from({ length: 200 }, (_, i) => new ContextVar<string>(`adopted_${i}`));
    // A copy of a Map calls `set` once per entry: count them.
    const setOf = Map.prototype.set;
    let sets = 0;
    Map.prototype.set = function (this: Map<unknown, unknown>, key: unknown, value: unknown) {
      sets++;
      return setOf.call(this, key, value);
    };
    let seen: string[];
    try {
      seen = ctx.run(() => vars.map((v) => v.get()));
    } finally {
      Map.prototype.set = setOf;
    }
    expect(seen).toEqual(vars.map((_, i) => `value ${i}`));
    expect(sets).toBeLessThan(1000);
    // The other names are still pending, and travel on.
    const again = deserializeContext(serializeContext(ctx, { maxBytes: 1 << 22 }), {
      maxBytes: 1 << 22,
    });
    expect(again.size).toBe(200);
  });
});

describe('8. a signed snapshot has exactly one text that verifies', () => {
  it('no other last character of the MAC verifies', () => {
    const ctx = new Context();
    ctx.run(() => box.set('signed'));
    const text = serializeContext(ctx, { format: 'json', key: 'k' });
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const at = text.length - 3; // ...X"}
    const verifying = [...alphabet].filter((c) => {
      const forged = text.slice(0, at) + c + text.slice(at + 1);
      try {
        deserializeContext(forged, { key: 'k' });
        return true;
      } catch (error) {
        expect((error as { code?: string }).code).toBe('ERR_CONTEXT_DESERIALIZE');
        return false;
      }
    });
    expect(verifying).toEqual([text[at]]);
  });
});

describe('9. signing keys that cannot work are refused when given', () => {
  const empty = createSecretKey(Buffer.alloc(0));
  it.each([
    ['an empty secret KeyObject', empty, 'ERR_INVALID_ARG_TYPE'],
    ['an object that only looks like a KeyObject', { type: 'secret' }, 'ERR_INVALID_ARG_TYPE'],
    ['an empty string', '', 'ERR_INVALID_ARG_VALUE'],
    ['an empty Buffer', Buffer.alloc(0), 'ERR_INVALID_ARG_VALUE'],
    [
      'a key given as undefined (an unset environment variable)',
      undefined,
      'ERR_INVALID_ARG_VALUE',
    ],
  ])('%s', (_label, key, code) => {
    const serializing = thrownBy(() =>
      serializeContext(new Context(), { format: 'json', key: key as never }),
    );
    expect((serializing as { code?: string }).code).toBe(code);
    expect((serializing as Error).message).toContain('options.key');
    expect(codeOf(() => deserializeContext('{}', { key: key as never }))).toBe(code);
  });

  it('a key list with a hole, naming the hole', () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is what is tested
    const keys = ['a', , 'b'];
    const error = thrownBy(() => deserializeContext('{}', { key: keys as never }));
    expect((error as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
    expect((error as Error).message).toContain('options.key[1]');
  });
});

describe('found by the attack on the rebuilt layer', () => {
  it.each([
    ['a record type that is a BigInt', [[10n]]],
    [
      'a record type that is a cyclic array',
      (() => {
        const cyclic: unknown[] = [];
        cyclic.push(cyclic);
        return [[cyclic]];
      })(),
    ],
  ])('%s is a coded refusal, not a TypeError from printing it', (_label, records) => {
    refusedAsInput(() => deserializeContext({ v: 1, f: 's', e: ['safety_box', 1, records] }));
  });

  it('input whose getters throw is a coded refusal', () => {
    const hostile = {
      get v(): number {
        throw new TypeError('from a getter');
      },
    };
    const error = refusedAsInput(() => deserializeContext(hostile));
    expect((error.cause as Error).message).toBe('from a getter');
  });

  it('maxDepth is at most 1,000: deeper would overflow the stack while decoding', () => {
    expect(codeOf(() => deserializeContext('{}', { maxDepth: 1001 }))).toBe('ERR_OUT_OF_RANGE');
    expect(codeOf(() => serializeContext(new Context(), { maxDepth: 10 ** 6 }))).toBe(
      'ERR_OUT_OF_RANGE',
    );
  });
});

describe('walking a value that shares its parts (a DAG)', () => {
  it('costs about its distinct parts, not every path through them', () => {
    // 1,000 references to one array of 1,000 elements: small to clone, a
    // million values to walk as a tree. A getter counts how often the walk
    // reaches the shared array's one object.
    let reads = 0;
    const counted = {
      get v() {
        reads++;
        return 1;
      },
    };
    const shared = [counted, ...Array.from({ length: 999 }, () => 0)];
    const dag = Array.from({ length: 1000 }, () => shared);
    const ctx = new Context();
    ctx.run(() => box.set(dag));
    // Carried as it is: structured clone keeps the sharing.
    expect(serializeContext(ctx).e[2]).toBe(dag);
    // The tree walk gives up early and the exact walk reads each object once.
    expect(reads).toBeLessThan(100);
  });
});

describe('a keyed reader says what is wrong with what it was given', () => {
  it.each([
    ['garbage', /not a json snapshot/],
    ['{', /not a json snapshot/],
    ['{"v":1,"f":"j","e":[]}', /it is not signed, and a key is required/],
  ])('%j', (text, reason) => {
    expect(refusedAsInput(() => deserializeContext(text, { key: 'k' })).message).toMatch(reason);
  });
});
