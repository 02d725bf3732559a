// Workers benchmark: ContextPool.runInContext against bare piscina.run of the
// same worker module with the same options (the same `atomics` setting: like
// for like), a second bare pool as control, and a raw worker_threads
// postMessage echo as the floor; interleaved rounds. Beside them, ContextPool
// with its own defaults (`atomics: 'async'`) against the bare pool: in the
// 'sync' run that is default against default.
// `sequential` (one task in flight, p50 latency; run it pinned to one CPU) or
// `pipelined` (hundreds in flight, tasks/s); then the `atomics` setting of the
// like-for-like pools, 'sync' (piscina's default) or 'async'.
// Prints a JSON report on stdout.
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { Context, ContextVar } from '../../dist/index.js';
import { ContextPool } from '../../dist/workers/index.js';
import { tenKbReport } from '../data.mjs';
import { median, pipelinedRate, sequentialP50 } from '../measure.mjs';

const mode = process.argv[2] === 'sequential' ? 'sequential' : 'pipelined';
const atomics = process.argv[3] === 'async' ? 'async' : 'sync';
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const filename = new URL('../workers/echo.mjs', import.meta.url).href;
// Two threads that stay up: idle-timeout churn would measure thread starts.
const options = { maxThreads: 2, minThreads: 2, idleTimeout: 30_000, atomics };

const bare = new Piscina({ ...options, filename });
const control = new Piscina({ ...options, filename });
const pool = new ContextPool({ ...options, filename });
const { atomics: _, ...withoutAtomics } = options;
const defaults = new ContextPool({ ...withoutAtomics, filename });

// A raw echo worker: the floor any pool sits on.
const raw = new Worker(
  'const { parentPort } = require("node:worker_threads"); parentPort.on("message", (m) => parentPort.postMessage(m));',
  { eval: true },
);
const rawPending = [];
raw.on('message', (m) => rawPending.shift()(m));
const rawRun = (n) =>
  new Promise((resolve) => {
    rawPending.push(resolve);
    raw.postMessage(n);
  });

function contextWith(n) {
  const ctx = new Context();
  const vars = Array.from(
    { length: n },
    (_, i) => new ContextVar(i === 0 ? 'request_id' : `bench_var_${n}_${i}`),
  );
  ctx.run(() => {
    for (const [i, v] of vars.entries()) v.set(i === 0 ? 'r-0' : `value-${i}`);
  });
  return { ctx, requestId: vars[0] };
}

const ten = contextWith(10);
const hundred = contextWith(100);
const thousand = contextWith(1000);
const tenKb = tenKbReport();
const withValue = contextWith(1);
const reportVar = new ContextVar('bench_report');
withValue.ctx.run(() => reportVar.set(tenKb));

// The request contexts of the server pattern, made before the clock starts:
// making them (copy, set) is the caller's work, not the pool's.
const requests = Array.from({ length: 1024 }, (_, i) => {
  const ctx = ten.ctx.copy();
  ctx.run(() => ten.requestId.set(`r-${i}`));
  return ctx;
});

let n = 0;
const cases = {
  'raw postMessage echo (floor)': () => rawRun(n++),
  'bare piscina.run': () => bare.run(n++),
  'bare piscina.run (control)': () => control.run(n++),
  'pool.run (empty context)': () => pool.run(n++),
  'runInContext, 10 vars, request id changes': () =>
    pool.runInContext(n, { context: requests[n++ & 1023] }),
  'runInContext, 10 vars, unchanged': () => pool.runInContext(n++, { context: ten.ctx }),
  'runInContext, 100 vars, unchanged': () => pool.runInContext(n++, { context: hundred.ctx }),
  'runInContext, 1,000 vars, unchanged': () => pool.runInContext(n++, { context: thousand.ctx }),
  'runInContext, 10 KB value': () => pool.runInContext(n++, { context: withValue.ctx }),
  // Last in each round: its pool's workers keep their event loops running ('async').
  "runInContext, 10 vars, request id changes, ContextPool's defaults": () =>
    defaults.runInContext(n, { context: requests[n++ & 1023] }),
};

const measure =
  mode === 'sequential' ? (run) => sequentialP50(run, 2000) : (run) => pipelinedRate(run, 10_000);
// Warm up every path (JIT, worker module loads, caches).
for (const run of Object.values(cases)) {
  await (mode === 'sequential' ? sequentialP50(run, 2000) : pipelinedRate(run, 5000));
}

const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(cases)) samples[name].push(await measure(run));
}
const value = Object.fromEntries(
  Object.entries(samples).map(([name, list]) => [name, median(list)]),
);

const bareValue = value['bare piscina.run'];
const unit = mode === 'sequential' ? 'p50 us' : 'tasks/s';
const rows = Object.entries(value).map(([name, v]) => ({
  case: name,
  [unit]: v,
  ...(mode === 'sequential' ? { 'us over bare': v - bareValue } : { 'x bare': v / bareValue }),
}));
const spread =
  mode === 'sequential'
    ? Math.abs(value['bare piscina.run (control)'] - bareValue)
    : Math.abs(value['bare piscina.run (control)'] / bareValue - 1);
const changing = value['runInContext, 10 vars, request id changes'];
const byDefault = value["runInContext, 10 vars, request id changes, ContextPool's defaults"];
const targets =
  mode === 'sequential'
    ? [
        {
          target: `sequential p50, 10 vars, request id changes, atomics '${atomics}' both: at most 1.5 us over bare (bare-vs-bare spread ${spread.toFixed(2)} us)`,
          value: changing - bareValue,
          limit: 1.5,
        },
        {
          target: 'unchanged context: 1,000 vars vs 10 vars, us per task (flat)',
          value:
            value['runInContext, 1,000 vars, unchanged'] -
            value['runInContext, 10 vars, unchanged'],
          limit: 2,
        },
      ]
    : [
        {
          target: `pipelined tasks/s, 10 vars, request id changes, atomics '${atomics}' both: at least 0.95x bare (bare-vs-bare spread ${(spread * 100).toFixed(1)}%)`,
          value: changing / bareValue,
          limit: 0.95,
          atLeast: true,
        },
        {
          target: 'unchanged context: 1,000 vars vs 10 vars, tasks/s ratio (flat)',
          value:
            value['runInContext, 1,000 vars, unchanged'] /
            value['runInContext, 10 vars, unchanged'],
          limit: 0.9,
          atLeast: true,
        },
      ];

await Promise.all([
  raw.terminate(),
  bare.destroy(),
  control.destroy(),
  pool.destroy(),
  defaults.destroy(),
]);
process.stdout.write(
  JSON.stringify({
    suite: `workers-${mode}-${atomics}`,
    node: process.version,
    pinned: process.env.BENCH_PINNED === '1',
    rounds,
    rows,
    targets: targets.map(({ atLeast, ...t }) => ({
      ...t,
      met: atLeast ? t.value >= t.limit : t.value <= t.limit,
    })),
    // Reported, not a target: ContextPool's defaults against bare piscina with these options.
    defaults:
      mode === 'sequential'
        ? { 'us over bare': byDefault - bareValue }
        : { 'x bare': byDefault / bareValue },
  }),
);
