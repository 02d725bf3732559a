// Fuzzing every decoder a peer can reach (both snapshot formats, thrown-
// value records, and the integrations' inputs: signed context headers as
// requestScope reads them, BullMQ job metadata as the telemetry reads it)
// against a resource oracle: each input either decodes or is
// refused with ERR_CONTEXT_DESERIALIZE, never anything else; what the decoded
// values keep alive stays within 64x the input's size plus 1 MiB; no input
// takes long; no prototype anywhere is touched. The mutator edits the parsed
// records, so most inputs get past the envelope into the record decoder (the
// integration inputs are signed again after the edit, as a key holder's
// would be, so they get past the signature too).
import { AsyncLocalStorage } from 'node:async_hooks';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { Context, ContextVar, carry } from '../../src/index.js';
import { contextOf } from '../../src/integrations/bullmq/index.js';
import { joinMetadata } from '../../src/integrations/bullmq/metadata.js';
import { requestScopeFor } from '../../src/integrations/http/scope.js';
import { deserializeContext, serializeContext } from '../../src/serialization/index.js';
import * as records from '../../src/serialization/read/records.js';
import { decodeThrown, type ThrownRecords } from '../../src/serialization/thrown.js';
import { heapAfterGc } from '../support/gc.js';
import { signedText } from '../support/signed.js';

const first = new ContextVar<unknown>('fuzz_first');
const second = new ContextVar<unknown>('fuzz_second');

const RUNS = 10_000;
const BATCH = 500;
const MiB = 1024 * 1024;
/** A hang detector, not a performance goal: a decode takes well under a millisecond. */
const SLOWEST_DECODE_MS = 1000;

const leaf = fc.oneof(
  fc.constantFrom(undefined, null, true, -0, Number.NaN, Number.NEGATIVE_INFINITY),
  fc.double(),
  fc.bigInt(),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.date({ noInvalidDate: false }),
  fc.constantFrom(/a+/g, /x/i),
  fc.uint8Array({ maxLength: 8 }),
  fc.uint8Array({ minLength: 4, maxLength: 8 }).map((a) => new Uint16Array(a.buffer, 2, 1)),
  fc
    .string({ maxLength: 10 })
    .map((message) => Object.assign(new RangeError(message), { code: 7 })),
);
const { value: arbitraryValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.sparseArray(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
    fc.array(fc.tuple(tie('value'), tie('value')), { maxLength: 3 }).map((e) => new Map(e)),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => new Set(items)),
    tie('value').map((cause) => new Error('with cause', { cause })),
  ),
}));
// A root that always needs records (an Error), with a cycle and a shared part.
const needsRecords = arbitraryValue.map((value) => {
  const root: Record<string, unknown> = { value, error: new TypeError('t') };
  root.self = root;
  root.again = value;
  return root;
});

/** Values a mutation puts in place of a node of the parsed input. */
const REPLACEMENTS: readonly unknown[] = [
  -1,
  0,
  1,
  2,
  3,
  2 ** 31,
  -2,
  1.5,
  null,
  true,
  'x',
  '~sparse',
  '~view',
  '~buffer',
  '~num',
  8,
  7,
  99,
  [],
  [0],
  [[0, 0]],
  [-1, -1, -1],
  [1, [0]],
  {},
  { source: '(', flags: '' },
  'AAAA',
  '9'.repeat(66_000),
  ['Uint8Array', 0, 0, 99_999],
  ['~view', ['Float64Array', 0, 0, 9]],
  Array.from({ length: 300 }, () => 1),
];

interface Mutation {
  /** Which node of the parsed input, modulo their number. */
  readonly node: number;
  readonly replacement: number;
  /** 0-5 replace, 6 duplicate, 7 point at itself, 8 cut a list, 9 copy a sibling. */
  readonly kind: number;
}
const mutation: fc.Arbitrary<Mutation> = fc.record({
  node: fc.nat(),
  replacement: fc.nat(),
  kind: fc.nat({ max: 9 }),
});

/** Every array or object inside `root`, with the key of each of its slots. */
function slotsOf(root: unknown): Array<[Record<string | number, unknown>, string | number]> {
  const slots: Array<[Record<string | number, unknown>, string | number]> = [];
  const stack = [root];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    for (const key of Object.keys(node)) {
      const at = Array.isArray(node) ? Number(key) : key;
      slots.push([node as Record<string | number, unknown>, at]);
      stack.push((node as Record<string, unknown>)[key]);
    }
  }
  return slots;
}

/** Applies mutations to a parsed input in place: replace, duplicate, point at itself or cut a node. */
function mutate(root: unknown, mutations: readonly Mutation[]): void {
  for (const { node, replacement, kind } of mutations) {
    const slots = slotsOf(root);
    if (slots.length === 0) return;
    const [parent, key] = slots[node % slots.length] as [
      Record<string | number, unknown>,
      string | number,
    ];
    if (kind < 6) {
      parent[key] = structuredClone(REPLACEMENTS[replacement % REPLACEMENTS.length]);
    } else if (kind === 6 && Array.isArray(parent)) {
      parent.push(structuredClone(parent[key]));
    } else if (kind === 7) {
      parent[key] = Array.isArray(parent) ? Number(key) : 0;
    } else if (kind === 8 && Array.isArray(parent)) {
      parent.length = Number(key);
    } else {
      parent[key] = structuredClone(
        parent[Object.keys(parent)[replacement % Object.keys(parent).length] as string],
      );
    }
  }
}

function jsonEntries(value: unknown): unknown[] {
  const ctx = new Context();
  ctx.run(() => {
    first.set(value);
    second.set('side');
  });
  const text = serializeContext(ctx, { format: 'json', maxBytes: MiB });
  return (JSON.parse(text) as { e: unknown[] }).e;
}

const KEY = 'the fuzzing key';

/** A signed json snapshot of `entries` for `use`, as `serializeContext` writes one. */
const signedFor = (u: string, e: unknown[]) => signedText(KEY, { v: 2, t: Date.now(), u, e });

/** How requestScope({ header, key }) opens a request: the header's context, or its refusal. */
const openRequest = requestScopeFor({ header: 'x-context', key: KEY, maxBytes: 64 * 1024 });

/** An inner telemetry, as contextOf is told of one: only that there is one counts. */
const INNER = { tracer: { startSpan: () => ({}) }, contextManager: { with: () => ({}) } } as never;

/** A telemetry's inner metadata (bullmq-otel's), which a job's snapshot may sit beside. */
const TRACEPARENT = '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}';

const ALLOWED_PROTOTYPES = new Set<unknown>([
  null,
  Object.prototype,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Date.prototype,
  RegExp.prototype,
  ArrayBuffer.prototype,
  DataView.prototype,
  ...[Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array]
    .concat([Float32Array, Float64Array] as never[], [BigInt64Array, BigUint64Array] as never[])
    .map((Ctor) => Ctor.prototype),
  ...[
    Error,
    EvalError,
    RangeError,
    ReferenceError,
    SyntaxError,
    TypeError,
    URIError,
    AggregateError,
  ].map((Ctor) => Ctor.prototype),
]);

/** Fails on any object in `value` whose prototype decoding could not have made. */
function expectOnlyDataPrototypes(value: unknown): void {
  const seen = new Set<object>();
  const stack = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    const proto = Object.getPrototypeOf(node);
    if (!ALLOWED_PROTOTYPES.has(proto) && !(proto instanceof Error)) {
      throw new Error(`a decoded object has an unexpected prototype: ${String(proto)}`);
    }
    if (node instanceof Map) for (const [k, v] of node) stack.push(k, v);
    else if (node instanceof Set) for (const v of node) stack.push(v);
    else if (node instanceof Error) stack.push(node.cause, (node as { errors?: unknown }).errors);
    if (!ArrayBuffer.isView(node))
      for (const key of Object.keys(node)) stack.push((node as Record<string, unknown>)[key]);
  }
}

const PROTOTYPES = [
  Object.prototype,
  Array.prototype,
  Map.prototype,
  Set.prototype,
  Error.prototype,
  Function.prototype,
];
const shapeOfPrototypes = () =>
  PROTOTYPES.map((proto) => Reflect.ownKeys(proto).map(String).sort().join());

interface Target {
  readonly name: string;
  /** The input as it would arrive, and its size in bytes. */
  readonly make: (
    value: unknown,
    mutations: Parameters<typeof mutate>[1],
  ) => { input: unknown; size: number };
  /** Decodes, returning what the caller would keep. */
  readonly decode: (input: unknown) => unknown;
}

const targets: Target[] = [
  {
    name: 'json snapshots',
    make: (value, mutations) => {
      const parsed = { v: 1, f: 'j', e: jsonEntries(value) };
      mutate(parsed.e, mutations);
      const text = JSON.stringify(parsed);
      return { input: text, size: text.length };
    },
    decode: (input) => [...deserializeContext(input as string, { maxBytes: 64 * 1024 }).values()],
  },
  {
    name: 'structured snapshots',
    make: (value, mutations) => {
      const input = { v: 1, f: 's', e: jsonEntries(value) };
      mutate(input.e, mutations);
      return { input, size: JSON.stringify(input).length };
    },
    decode: (input) => [...deserializeContext(input).values()],
  },
  {
    name: 'thrown-value records',
    make: (value, mutations) => {
      const r = jsonEntries(value)[2] as unknown[];
      const wrapper = { r };
      mutate(wrapper, mutations);
      const input: ThrownRecords = { cvThrown: 1, r: wrapper.r as ThrownRecords['r'] };
      return { input, size: JSON.stringify(input).length };
    },
    decode: (input) => decodeThrown(input as ThrownRecords),
  },
  {
    name: 'signed context headers (with a use)',
    make: (value, mutations) => {
      const entries = jsonEntries(value);
      mutate(entries, mutations);
      const text = signedFor('http:x-context', entries);
      return { input: text, size: text.length };
    },
    decode: (input) => {
      const { context, refusal } = openRequest({ 'x-context': input as string });
      if (refusal !== undefined) throw refusal;
      return [...context.values()];
    },
  },
  {
    name: 'BullMQ job metadata',
    make: (value, mutations) => {
      const entries = jsonEntries(value);
      mutate(entries, mutations);
      // Alone in the slot, or beside another telemetry's metadata.
      const beside = (mutations[0]?.replacement ?? 0) % 2 === 1;
      const snapshot = signedFor('bullmq', entries);
      const metadata = beside ? joinMetadata(snapshot, TRACEPARENT) : snapshot;
      return { input: { beside, metadata }, size: metadata.length };
    },
    decode: (input) => {
      const { beside, metadata } = input as { beside: boolean; metadata: string };
      const job = { id: '1', queueName: 'fuzz', opts: { telemetry: { metadata } } };
      const options = { key: KEY, ...(beside && { inner: INNER }) };
      return [...contextOf(job, options).values()];
    },
  },
];

// Carried-store payloads: what arrives for a store whose codec validates it,
// read when the snapshot arrives (DESIGN, "Carried entries are decoded once").
const session = new AsyncLocalStorage<unknown>();
carry(session, {
  name: 'fuzz_store',
  codec: {
    encode: (value) => value,
    decode: (raw) => {
      if (typeof raw !== 'object' || raw === null || !('error' in raw)) {
        throw new TypeError('not a session');
      }
      return raw;
    },
  },
});
targets.push({
  name: 'carried-store payloads (a validating codec)',
  make: (value, mutations) => {
    const sent = session.run(value, () =>
      serializeContext(new Context(), { format: 'json', maxBytes: MiB }),
    );
    const parsed = { v: 1, f: 'j', e: (JSON.parse(sent) as { e: unknown[] }).e };
    mutate(parsed.e, mutations);
    const text = JSON.stringify(parsed);
    return { input: text, size: text.length };
  },
  decode: (input) =>
    deserializeContext(input as string, { maxBytes: 64 * 1024 }).run(() => session.getStore()),
});

describe.each(targets)('$name under mutation', (target) => {
  it(`${RUNS} inputs: decoded or ERR_CONTEXT_DESERIALIZE; heap, time and prototypes bounded; most reach the record decoder`, () => {
    const decodeSpy = vi.spyOn(records, 'decodeRecords');
    const prototypesBefore = shapeOfPrototypes();
    let reached = 0;
    let decoded = 0;
    let slowest = 0;
    try {
      for (let batch = 0; batch < RUNS / BATCH; batch++) {
        const kept: unknown[] = [];
        let inputBytes = 0;
        const before = heapAfterGc();
        fc.assert(
          fc.property(
            needsRecords,
            fc.array(mutation, { minLength: 1, maxLength: 3 }),
            (value, mutations) => {
              const { input, size } = target.make(value, mutations);
              inputBytes += size;
              const callsBefore = decodeSpy.mock.calls.length;
              const started = performance.now();
              try {
                const result = target.decode(input);
                expectOnlyDataPrototypes(result);
                kept.push(result);
                decoded++;
              } catch (error) {
                expect((error as { code?: unknown }).code, String(error)).toBe(
                  'ERR_CONTEXT_DESERIALIZE',
                );
              } finally {
                slowest = Math.max(slowest, performance.now() - started);
                if (decodeSpy.mock.calls.length > callsBefore) reached++;
              }
            },
          ),
          { numRuns: BATCH, seed: 0x5eed + batch },
        );
        const retained = heapAfterGc() - before;
        expect(retained).toBeLessThanOrEqual(64 * inputBytes + MiB);
        expect(kept.length).toBeGreaterThanOrEqual(0);
      }
    } finally {
      decodeSpy.mockRestore();
    }
    expect(shapeOfPrototypes()).toEqual(prototypesBefore);
    expect(reached).toBeGreaterThanOrEqual(RUNS / 2);
    expect(decoded).toBeGreaterThan(0);
    expect(slowest).toBeLessThan(SLOWEST_DECODE_MS);
  });
});
