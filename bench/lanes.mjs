// What the queue benchmarks share: request contexts made before the clock
// starts, lanes (a queue and its worker) that add and process a number of
// jobs per round, and interleaved rounds over the lanes.
import { Queue, Worker } from 'bullmq';
import { Context, ContextVar } from '../dist/index.js';
import { median } from './measure.mjs';

/**
 * 1,024 request contexts of 10 vars each, whose request id differs (the
 * caller's work, done before the clock starts), and the request id var.
 */
export function requestContexts() {
  const vars = Array.from({ length: 10 }, (_, i) =>
    i === 0 ? new ContextVar('request_id') : new ContextVar(`bench_var_${i}`),
  );
  const [requestId] = vars;
  const base = new Context();
  base.run(() => {
    for (const [i, v] of vars.entries()) v.set(i === 0 ? 'r-0' : `value-${i}`);
  });
  const requests = Array.from({ length: 1024 }, (_, i) => {
    const ctx = base.copy();
    ctx.run(() => requestId.set(`r-${i}`));
    return ctx;
  });
  return { requestId, requests };
}

/**
 * A lane's round: `add(ctx)` adds one job in `ctx` (64 in flight), `done`
 * is called by the lane's worker for each job it finished; resolves with
 * jobs/s and this process's CPU time per job (us; the database runs apart).
 */
export function roundRunner(requests, add, inFlight = 64) {
  let completed = 0;
  let target = 0;
  let allDone = () => {};
  return {
    done(count = 1) {
      completed += count;
      if (completed === target) allDone();
    },
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
          await ctx.run(() => add());
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

/** A BullMQ telemetry that does nothing: what BullMQ's telemetry path costs by itself. */
const idleSpan = {
  setSpanOnContext: (ctx) => ctx,
  setAttribute() {},
  setAttributes() {},
  addEvent() {},
  recordException() {},
  end() {},
};
export const doNothing = {
  tracer: { startSpan: () => idleSpan },
  contextManager: {
    active: () => ({}),
    with: (_ctx, fn) => fn(),
    getMetadata: () => '',
    fromMetadata: (active) => active,
  },
};

/**
 * A BullMQ queue and its worker (concurrency 16, a processor that reads the
 * request id and returns nothing), on `connection` through `backend` (none:
 * Redis).
 */
export function bullmqLane(
  name,
  { connection, backend, telemetry, jobOptions = {}, requestId, requests },
) {
  const options = telemetry === undefined ? { connection } : { connection, telemetry };
  const queue = new Queue(
    name,
    { ...options, defaultJobOptions: { removeOnComplete: true } },
    backend,
  );
  const runner = roundRunner(requests, () => queue.add('job', null, jobOptions));
  const worker = new Worker(
    name,
    async () => void requestId.get(undefined),
    { ...options, concurrency: 16 },
    backend,
  );
  worker.on('completed', () => runner.done());
  return {
    round: runner.round,
    ready: () => worker.waitUntilReady(),
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}

/**
 * Runs `rounds` rounds of `jobsPerRound` jobs on every lane after a warm-up;
 * each round starts at the next lane, so load that drifts within a round
 * falls on every lane alike. Resolves with the median jobs/s and CPU us per
 * job of each lane.
 */
export async function interleavedRounds(lanes, { rounds, jobsPerRound }) {
  for (const l of Object.values(lanes)) await l.round(jobsPerRound / 2);
  const samples = Object.fromEntries(Object.keys(lanes).map((name) => [name, []]));
  const cpuSamples = Object.fromEntries(Object.keys(lanes).map((name) => [name, []]));
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
  return { rate: medians(samples), cpu: medians(cpuSamples) };
}
