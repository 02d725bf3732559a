// Serialization benchmark: snapshot round trips in both formats against bare
// structuredClone, v8.serialize/deserialize, JSON and structured-clone-es of the
// same values, measured in the same run. Prints a JSON report on stdout.
import v8 from 'node:v8';
import { parse as scParse, stringify as scStringify } from 'structured-clone-es';
import { Context, ContextVar } from '../../dist/index.js';
import { deserializeContext, serializeContext } from '../../dist/serialization/index.js';
import { tenKbReport } from '../data.mjs';
import { measureInterleaved } from '../measure.mjs';

function contextOf(entries) {
  const ctx = new Context();
  const vars = Object.keys(entries).map((name) => new ContextVar(name));
  ctx.run(() => {
    for (const v of vars) v.set(entries[v.name]);
  });
  return { ctx, vars };
}

// 1. Ten primitives, the request id changing on every round trip (the server pattern).
const primitiveValues = {
  request_id: 'r-0',
  user: 'user-42',
  tenant: 'acme',
  locale: 'en-GB',
  deadline: 1_700_000_000_000,
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  span_id: '00f067aa0ba902b7',
  sampled: true,
  retries: 0,
  region: 'eu-west-1',
};
const primitives = contextOf(primitiveValues);
const requestIdVar = primitives.vars[0];
let counter = 0;
function nextRequest() {
  const ctx = primitives.ctx.copy();
  ctx.run(() => requestIdVar.set(`r-${++counter & 1023}`));
  return ctx;
}
const freshValues = () => ({ ...primitiveValues, request_id: `r-${++counter & 1023}` });

// 2. A 10 KB plain object, mutable: encoded at call time, every time.
const report = tenKbReport();
const plainBytes = JSON.stringify(report).length;
const plain = contextOf({ report });

// 3. Map, Set, Date, BigInt: what JSON cannot carry.
const rich = {
  seen: new Map(
    Array.from({ length: 20 }, (_, i) => [
      `k${i}`,
      { at: new Date(1_700_000_000_000 + i), n: BigInt(i) ** 5n },
    ]),
  ),
  roles: new Set(['admin', 'billing', 'support']),
  started: new Date(1_700_000_000_000),
  quota: 2n ** 70n,
};
const richCtx = contextOf({ rich });

// 4. Deep-frozen data: per-snapshot cost with 10 and 1,000 such vars, context unchanged.
function frozenContext(n) {
  const entries = {};
  for (let i = 0; i < n; i++)
    entries[`frozen_${n}_${i}`] = Object.freeze({ id: i, flags: Object.freeze(['a', 'b']) });
  return contextOf(entries).ctx;
}
const frozen10 = frozenContext(10);
const frozen1000 = frozenContext(1000);
const roomy = { maxBytes: 1 << 22 };

const structuredRoundTrip = (ctx, options) =>
  deserializeContext(structuredClone(serializeContext(ctx, options)), options);
const jsonRoundTrip = (ctx, options) =>
  deserializeContext(serializeContext(ctx, { format: 'json', ...options }), options);
const loop = (fn) => (n) => {
  let s = 0;
  for (let i = 0; i < n; i++) s ^= fn() === undefined ? 0 : 1;
  return s;
};

const cases = {
  'primitives: structuredClone(values)': loop(() => structuredClone(freshValues())),
  'primitives: v8.serialize+deserialize': loop(() => v8.deserialize(v8.serialize(freshValues()))),
  'primitives: JSON.stringify+parse': loop(() => JSON.parse(JSON.stringify(freshValues()))),
  'primitives: structured round trip': loop(() => structuredRoundTrip(nextRequest())),
  'primitives: json round trip': loop(() => jsonRoundTrip(nextRequest())),
  'primitives: json round trip, signed': loop(() =>
    deserializeContext(serializeContext(nextRequest(), { format: 'json', key: 'k' }), { key: 'k' }),
  ),
  '10 KB object: structuredClone(value)': loop(() => structuredClone(report)),
  '10 KB object: v8.serialize+deserialize': loop(() => v8.deserialize(v8.serialize(report))),
  '10 KB object: JSON.stringify+parse': loop(() => JSON.parse(JSON.stringify(report))),
  '10 KB object: structured round trip': loop(() => structuredRoundTrip(plain.ctx)),
  '10 KB object: json round trip': loop(() => jsonRoundTrip(plain.ctx)),
  'Map/Set/Date/BigInt: structuredClone(value)': loop(() => structuredClone(rich)),
  'Map/Set/Date/BigInt: v8.serialize+deserialize': loop(() => v8.deserialize(v8.serialize(rich))),
  'Map/Set/Date/BigInt: structured-clone-es stringify+parse': loop(() =>
    scParse(scStringify(rich)),
  ),
  'Map/Set/Date/BigInt: structured round trip': loop(() => structuredRoundTrip(richCtx.ctx)),
  'Map/Set/Date/BigInt: json round trip': loop(() => jsonRoundTrip(richCtx.ctx)),
  'serializeContext, unchanged, 10 frozen vars': loop(() => serializeContext(frozen10.copy())),
  'serializeContext, unchanged, 1,000 frozen vars': loop(() =>
    serializeContext(frozen1000.copy(), roomy),
  ),
  'serializeContext json, unchanged, 10 frozen vars': loop(() =>
    serializeContext(frozen10.copy(), { format: 'json' }),
  ),
  'serializeContext json, unchanged, 1,000 frozen vars': loop(() =>
    serializeContext(frozen1000.copy(), { format: 'json', ...roomy }),
  ),
};

const ns = measureInterleaved(cases, { rounds: 15, targetMs: 20 });
const ratio = (a, b) => ns[a] / ns[b];
const anchorOf = (name) => {
  const group = name.split(':')[0];
  if (group.startsWith('serializeContext')) return null;
  if (name.endsWith('json round trip') || name.endsWith('signed')) {
    return group === 'Map/Set/Date/BigInt'
      ? `${group}: structured-clone-es stringify+parse`
      : `${group}: JSON.stringify+parse`;
  }
  if (name.endsWith('structured round trip')) {
    return group === 'primitives'
      ? `${group}: structuredClone(values)`
      : `${group}: structuredClone(value)`;
  }
  return null;
};
const rows = Object.entries(ns).map(([name, value]) => {
  const anchor = anchorOf(name);
  return {
    case: name,
    'us/op': value / 1000,
    anchor: anchor ? anchor.split(': ')[1] : '',
    'x anchor': anchor ? value / ns[anchor] : Number.NaN,
  };
});
const targets = [
  {
    target: 'structured round trip of a 10 KB object within 1.2x of structuredClone',
    value: ratio('10 KB object: structured round trip', '10 KB object: structuredClone(value)'),
    limit: 1.2,
  },
  {
    target: 'structured round trip of Map/Set/Date/BigInt within 1.2x of structuredClone',
    value: ratio(
      'Map/Set/Date/BigInt: structured round trip',
      'Map/Set/Date/BigInt: structuredClone(value)',
    ),
    limit: 1.2,
  },
  {
    target:
      'structured round trip of 10 primitives (new request id) within 1.2x of structuredClone',
    value: ratio('primitives: structured round trip', 'primitives: structuredClone(values)'),
    limit: 1.2,
  },
  {
    target: 'json round trip of a 10 KB plain object within 2x of JSON.stringify+parse',
    value: ratio('10 KB object: json round trip', '10 KB object: JSON.stringify+parse'),
    limit: 2,
  },
  {
    target: 'json round trip of 10 primitives within 2x of JSON.stringify+parse',
    value: ratio('primitives: json round trip', 'primitives: JSON.stringify+parse'),
    limit: 2,
  },
  {
    target: 'Map/Set/Date/BigInt json round trip vs structured-clone-es (reported)',
    value: ratio(
      'Map/Set/Date/BigInt: json round trip',
      'Map/Set/Date/BigInt: structured-clone-es stringify+parse',
    ),
    limit: Number.POSITIVE_INFINITY,
  },
  {
    target: 'structured snapshot, unchanged context: 1,000 / 10 frozen vars (flat)',
    value: ratio(
      'serializeContext, unchanged, 1,000 frozen vars',
      'serializeContext, unchanged, 10 frozen vars',
    ),
    limit: 1.5,
  },
  {
    target: 'json snapshot, unchanged context: 1,000 / 10 frozen vars (flat)',
    value: ratio(
      'serializeContext json, unchanged, 1,000 frozen vars',
      'serializeContext json, unchanged, 10 frozen vars',
    ),
    limit: 1.5,
  },
].map((t) => ({ ...t, met: t.value <= t.limit }));

process.stdout.write(
  JSON.stringify({
    suite: 'serialization',
    node: process.version,
    plainObjectBytes: plainBytes,
    rows,
    targets,
  }),
);
