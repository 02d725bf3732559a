// Queues benchmark: jobs/s through BullMQ on one private Redis, add and
// process (a processor doing no work), each job added in a 10-var context
// whose request id changes per job. contextTelemetry (unsigned, signed)
// against bare BullMQ and a bare control, in interleaved rounds; and, as
// anchors for what BullMQ itself charges, bare BullMQ with a snapshot-sized
// string in the metadata slot (carrying bytes alone) and with a telemetry
// that does nothing (BullMQ's own telemetry path). Then the context work per
// job, measured alone. Prints a JSON report on stdout.
import { contextTelemetry } from '../../dist/integrations/bullmq/index.js';
import { serializeContext } from '../../dist/serialization/index.js';
import { GET_REDIS, hasRedisServer, startRedis } from '../../examples/queue/redis.mjs';
import { bullmqLane, doNothing, interleavedRounds, requestContexts } from '../lanes.mjs';
import { measureInterleaved } from '../measure.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const jobsPerRound = Number(process.env.BENCH_JOBS ?? 2000);

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

const { requestId, requests } = requestContexts();
const snapshotSized = requests[0].run(() => serializeContext(undefined, { format: 'json' }));

const redis = await startRedis();
const connection = { path: redis.path };
const key = 'bench-key';

const lane = (name, options) => bullmqLane(name, { connection, requestId, requests, ...options });

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
await Promise.all(Object.values(lanes).map((l) => l.ready()));
const { rate, cpu } = await interleavedRounds(lanes, { rounds, jobsPerRound });
await Promise.all(Object.values(lanes).map((l) => l.close()));
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
