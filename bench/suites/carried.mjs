// Carried entries benchmark: runInContext with one carried store and an
// active span (both travel with every task) against bare piscina running the
// same work (the task starts and ends a span) with the same OpenTelemetry SDK
// set up in both threads; a second bare pool as control. Pipelined tasks/s,
// interleaved rounds. Prints a JSON report on stdout.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Piscina } from 'piscina';
import { carry } from '../../dist/index.js';
import { carryOpenTelemetry } from '../../dist/integrations/otel/index.js';
import { ContextPool } from '../../dist/workers/index.js';
import { startTracing } from '../../examples/shared/tracing.mjs';
import { median, pipelinedRate } from '../measure.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const filename = new URL('../workers/traced.mjs', import.meta.url).href;
// The same options for all: ContextPool's defaults, given to piscina too.
const options = { filename, maxThreads: 2, minThreads: 2, idleTimeout: 30_000, atomics: 'async' };
const bare = new Piscina(options);
const control = new Piscina(options);
const pool = new ContextPool(options);

const tracer = startTracing('main', () => undefined);
const store = new AsyncLocalStorage();
carry(store, { name: 'bench.request' });
carryOpenTelemetry();

let n = 0;
const cases = {
  'bare piscina.run': () => bare.run(n++),
  'bare piscina.run (control)': () => control.run(n++),
  'runInContext, a carried store and an active span': () => pool.runInContext(n++),
};

// Every task is sent from inside a request's span and store.
const samples = await tracer.startActiveSpan('request', (span) =>
  store.run({ user: 'user-42', tenant: 'acme' }, async () => {
    for (const run of Object.values(cases)) await pipelinedRate(run, 5000);
    const measured = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [name, run] of Object.entries(cases)) {
        measured[name].push(await pipelinedRate(run, 10_000));
      }
    }
    span.end();
    return measured;
  }),
);
const value = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
const bareValue = value['bare piscina.run'];
const spread = Math.abs(value['bare piscina.run (control)'] / bareValue - 1);
const carried = value['runInContext, a carried store and an active span'] / bareValue;
await Promise.all([bare.destroy(), control.destroy(), pool.destroy()]);
process.stdout.write(
  JSON.stringify({
    suite: 'carried',
    node: process.version,
    rounds,
    rows: Object.entries(value).map(([name, v]) => ({
      case: name,
      'tasks/s': v,
      'x bare': v / bareValue,
    })),
    targets: [
      {
        target: `pipelined, one carried store and an active span: at least 0.9x bare piscina with the same OpenTelemetry SDK (bare-vs-bare spread ${(spread * 100).toFixed(1)}%)`,
        value: carried,
        limit: 0.9,
        met: carried >= 0.9,
      },
    ],
  }),
);
