// Queues benchmark: jobs/s through BullMQ on one private Redis, add and
// process (a processor doing no work), each job added in a 10-var context
// whose request id changes per job. contextTelemetry (unsigned, signed)
// against bare BullMQ and a bare control, in interleaved rounds; and, as
// anchors for what BullMQ itself charges, bare BullMQ with a snapshot-sized
// string in the metadata slot (carrying bytes alone) and with a telemetry
// that does nothing (BullMQ's own telemetry path). Then the context work per
// job, measured alone. Prints a JSON report on stdout.
import { Queue, Worker } from 'bullmq';
import { Context, ContextVar } from '../../dist/index.js';
import { contextTelemetry } from '../../dist/integrations/bullmq/index.js';
import { serializeContext } from '../../dist/serialization/index.js';
import { GET_REDIS, hasRedisServer, startRedis } from '../../examples/queue/redis.mjs';
import { measureInterleaved, median } from '../measure.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const jobsPerRound = Number(process.env.BENCH_JOBS ?? 2000);
const inFlight = 64;
const concurrency = 16;

if (!hasRedisServer()) {
  process.stdout.write(
    JSON.stringify({
      suite: 'queues',
      node: process.version,
      skipped: `redis-server is not installed: ${GET_REDIS}`,
      rows: [],
      targets: [],
    }),
  );
  process.exit(0);
}

const vars = Array.from({ length: 10 }, (_, i) =>
  i === 0 ? new ContextVar('request_id') : new ContextVar(`bench_var_${i}`),
);
const [requestId] = vars;
const base = new Context();
base.run(() => {
  for (const [i, v] of vars.entries()) v.set(i === 0 ? 'r-0' : `value-${i}`);
});
// The request contexts, made before the clock starts (the caller's work).
const requests = Array.from({ length: 1024 }, (_, i) => {
  const ctx = base.copy();
  ctx.run(() => requestId.set(`r-${i}`));
  return ctx;
});
const snapshotSized = requests[0].run(() => serializeContext(undefined, { format: 'json' }));

/** A BullMQ telemetry that does nothing: what BullMQ's telemetry path costs by itself. */
const idleSpan = {
  setSpanOnContext: (ctx) => ctx,
  setAttribute() {},
  setAttributes() {},
  addEvent() {},
  recordException() {},
  end() {},
};
const doNothing = {
  tracer: { startSpan: () => idleSpan },
  contextManager: {
    active: () => ({}),
    with: (_ctx, fn) => fn(),
    getMetadata: () => '',
    fromMetadata: (active) => active,
  },
};

const redis = await startRedis();
const connection = { path: redis.path };
const key = 'bench-key';

/**
 * One queue and its worker; `round(count)` adds and processes count jobs,
 * resolving with jobs/s and this process's CPU time per job (us; Redis runs
 * apart), which a shared machine disturbs less than wall time.
 */
function lane(name, { telemetry, jobOptions = {} }) {
  const options = telemetry === undefined ? { connection } : { connection, telemetry };
  const queue = new Queue(name, { ...options, defaultJobOptions: { removeOnComplete: true } });
  let completed = 0;
  let target = 0;
  let allDone = () => {};
  // The processor reads the request id and returns nothing: every lane stores the same result.
  const worker = new Worker(name, async () => void requestId.get(undefined), {
    ...options,
    concurrency,
  });
  worker.on('completed', () => {
    completed += 1;
    if (completed === target) allDone();
  });
  return {
    queue,
    worker,
    async round(count) {
      completed = 0;
      target = count;
      const finished = new Promise((resolve) => {
        allDone = resolve;
      });
      const start = process.hrtime.bigint();
      const cpuStart = process.cpuUsage();
      let added = 0;
      const adder = async () => {
        while (added < count) {
          const ctx = requests[added++ & 1023];
          await ctx.run(() => queue.add('job', null, jobOptions));
        }
      };
      await Promise.all(Array.from({ length: inFlight }, adder));
      await finished;
      const cpu = process.cpuUsage(cpuStart);
      return {
        rate: count / (Number(process.hrtime.bigint() - start) / 1e9),
        cpu: (cpu.user + cpu.system) / count,
      };
    },
  };
}

const lanes = {
  'bare BullMQ': lane('bare', {}),
  'bare BullMQ (control)': lane('control', {}),
  'bare + a snapshot-sized string in the metadata slot': lane('string', {
    jobOptions: { telemetry: { metadata: snapshotSized } },
  }),
  'bare + a telemetry that does nothing': lane('idle', { telemetry: doNothing }),
  'contextTelemetry, unsigned': lane('unsigned', { telemetry: contextTelemetry() }),
  'contextTelemetry, signed': lane('signed', { telemetry: contextTelemetry({ key }) }),
};
await Promise.all(Object.values(lanes).map((l) => l.worker.waitUntilReady()));

for (const l of Object.values(lanes)) await l.round(jobsPerRound / 2); // warm-up
const samples = Object.fromEntries(Object.keys(lanes).map((name) => [name, []]));
const cpuSamples = Object.fromEntries(Object.keys(lanes).map((name) => [name, []]));
// Each round starts at the next lane, so load that drifts within a round
// falls on every lane alike.
const order = Object.entries(lanes);
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < order.length; i++) {
    const [name, l] = order[(round + i) % order.length];
    const { rate, cpu } = await l.round(jobsPerRound);
    samples[name].push(rate);
    cpuSamples[name].push(cpu);
  }
}
const medians = (all) =>
  Object.fromEntries(Object.entries(all).map(([name, list]) => [name, median(list)]));
const rate = medians(samples);
const cpu = medians(cpuSamples);
await Promise.all(Object.values(lanes).map((l) => l.worker.close()));
await Promise.all(Object.values(lanes).map((l) => l.queue.close()));
await redis.stop();

// The context work of one job, alone: the metadata for an add, and the run of
// a processor in the context read back from it (what the Worker does).
const runnerKey = Symbol.for('contextvars.bullmq.jobRunner');
function perJob(telemetry) {
  const { contextManager, tracer } = telemetry;
  const producer = tracer.startSpan('add', { kind: 3 });
  const metadata = (i) =>
    requests[i & 1023].run(() =>
      contextManager.getMetadata(producer.setSpanOnContext(contextManager.active())),
    );
  const jobs = Array.from({ length: 1024 }, (_, i) => ({
    opts: { telemetry: { metadata: metadata(i) } },
  }));
  const run = telemetry[runnerKey];
  return {
    add: (n) => {
      let length = 0;
      for (let i = 0; i < n; i++) length += metadata(i).length;
      return length;
    },
    process: (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += run(jobs[i & 1023], () => 1);
      return sum;
    },
  };
}
const unsigned = perJob(contextTelemetry());
const signed = perJob(contextTelemetry({ key }));
const ns = measureInterleaved({
  'unsigned: snapshot for add': unsigned.add,
  'unsigned: processor run in it': unsigned.process,
  'signed: snapshot for add': signed.add,
  'signed: processor run in it': signed.process,
});

const bare = rate['bare BullMQ'];
const spread = Math.abs(rate['bare BullMQ (control)'] / bare - 1);
const rows = [
  ...Object.entries(rate).map(([name, value]) => ({
    case: name,
    'jobs/s': value,
    'x bare': value / bare,
    'us per job': 1e6 / value,
    'cpu us per job': cpu[name],
  })),
  ...Object.entries(ns).map(([name, value]) => ({
    case: `context work alone, ${name}`,
    'us per job': value / 1000,
  })),
];
process.stdout.write(
  JSON.stringify({
    suite: 'queues',
    node: process.version,
    rounds,
    jobsPerRound,
    rows,
    targets: [
      {
        target: `jobs/s through contextTelemetry (unsigned): at least 0.9x bare BullMQ (bare-vs-bare spread ${(spread * 100).toFixed(1)}%; signed: ${(rate['contextTelemetry, signed'] / bare).toFixed(2)}x)`,
        value: rate['contextTelemetry, unsigned'] / bare,
        limit: 0.9,
        met: rate['contextTelemetry, unsigned'] / bare >= 0.9,
      },
    ],
  }),
);
