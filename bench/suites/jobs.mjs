// Jobs on PostgreSQL benchmark, on one private PostgreSQL: jobs/s (add and
// process, a handler doing no work, each job added in a 10-var context whose
// request id changes per job) through pg-boss with contextJobs against bare
// pg-boss, and through BullMQ's PostgreSQL backend with contextTelemetry
// against bare BullMQ there, each beside a bare control lane, in interleaved
// rounds. Also this process's CPU time per job, which polling and the
// database disturb less than wall time. Prints a JSON report on stdout.
import { createPostgresBackend } from 'bullmq';
import { PgBoss } from 'pg-boss';
import { contextTelemetry } from '../../dist/integrations/bullmq/index.js';
import { contextJobs, contextOf } from '../../dist/integrations/pg-boss/index.js';
import { GET_POSTGRES, hasPostgres, startPostgres } from '../../test/support/postgres-server.mjs';
import {
  bullmqLane,
  doNothing,
  interleavedRounds,
  requestContexts,
  roundRunner,
} from '../lanes.mjs';

const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const jobsPerRound = Number(process.env.BENCH_JOBS ?? 1000);

if (!hasPostgres()) {
  process.stdout.write(
    JSON.stringify({
      suite: 'jobs',
      node: process.version,
      skipped: `PostgreSQL is not installed: ${GET_POSTGRES}`,
      rows: [],
      targets: [],
    }),
  );
  process.exit(0);
}

const { requestId, requests } = requestContexts();
const server = await startPostgres();
const key = 'bench-key';

/**
 * A pg-boss instance and a worker on a queue of its own: batches of up to 16
 * (pg-boss fetches again at once while batches come back full, and waits its
 * polling interval after every other fetch), each job handled in its own
 * context through `contextOf` where the instance carries contexts.
 */
async function pgBossLane(name, options) {
  const bare = new PgBoss({ ...server.connection, max: 20, schedule: false });
  const boss = options === undefined ? bare : contextJobs(bare, options);
  boss.on('error', (error) => console.error('pg-boss:', error));
  await boss.start();
  await boss.createQueue(name, { deleteAfterSeconds: 60 });
  const runner = roundRunner(requests, () => boss.send(name, null));
  const handle = options === undefined ? (_, f) => f() : (job, f) => contextOf(job, options).run(f);
  const read = () => requestId.get(undefined);
  await boss.work(
    name,
    { batchSize: 16, localConcurrency: 2, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
    async (jobs) => {
      for (const job of jobs) handle(job, read);
      runner.done(jobs.length);
    },
  );
  return { round: runner.round, close: () => boss.stop({ graceful: false }) };
}

const bossLanes = {
  'bare pg-boss': await pgBossLane('bare'),
  'bare pg-boss (control)': await pgBossLane('control'),
  'contextJobs, unsigned': await pgBossLane('unsigned', {}),
  'contextJobs, signed': await pgBossLane('signed', { key }),
};
const boss = await interleavedRounds(bossLanes, { rounds, jobsPerRound });
await Promise.all(Object.values(bossLanes).map((l) => l.close()));

const bullmq = (name, telemetry) =>
  bullmqLane(name, {
    connection: { ...server.connection, migrate: true },
    backend: createPostgresBackend,
    requestId,
    requests,
    ...(telemetry !== undefined && { telemetry }),
  });
const bullLanes = {
  'bare BullMQ on PostgreSQL': bullmq('bare'),
  'bare BullMQ on PostgreSQL (control)': bullmq('control'),
  'bare BullMQ on PostgreSQL + a telemetry that does nothing': bullmq('idle', doNothing),
  'contextTelemetry on PostgreSQL, unsigned': bullmq('unsigned', contextTelemetry()),
  'contextTelemetry on PostgreSQL, signed': bullmq('signed', contextTelemetry({ key })),
};
await Promise.all(Object.values(bullLanes).map((l) => l.ready()));
const bull = await interleavedRounds(bullLanes, { rounds, jobsPerRound });
await Promise.all(Object.values(bullLanes).map((l) => l.close()));
await server.stop();

/** The rows of one engine's lanes, as ratios to its first (bare) lane. */
function rowsOf({ rate, cpu }) {
  const [bare] = Object.values(rate);
  const [bareCpu] = Object.values(cpu);
  return Object.entries(rate).map(([name, value]) => ({
    case: name,
    'jobs/s': value,
    'x bare': value / bare,
    'cpu us per job': cpu[name],
    'cpu x bare': cpu[name] / bareCpu,
  }));
}

/** The target of one engine: its unsigned lane against bare, the control's spread beside it. */
function target(what, { rate }, [bare, control, unsigned, signed]) {
  const ratio = rate[unsigned] / rate[bare];
  const spread = Math.abs(rate[control] / rate[bare] - 1);
  return {
    target: `jobs/s through ${what} (unsigned): at least 0.9x bare (bare-vs-bare spread ${(spread * 100).toFixed(1)}%; signed: ${(rate[signed] / rate[bare]).toFixed(2)}x)`,
    value: ratio,
    limit: 0.9,
    met: ratio >= 0.9,
  };
}

process.stdout.write(
  JSON.stringify({
    suite: 'jobs',
    node: process.version,
    rounds,
    jobsPerRound,
    rows: [...rowsOf(boss), ...rowsOf(bull)],
    targets: [
      target('contextJobs (pg-boss)', boss, Object.keys(bossLanes)),
      target('contextTelemetry (BullMQ on PostgreSQL)', bull, [
        'bare BullMQ on PostgreSQL',
        'bare BullMQ on PostgreSQL (control)',
        'contextTelemetry on PostgreSQL, unsigned',
        'contextTelemetry on PostgreSQL, signed',
      ]),
    ],
  }),
);
