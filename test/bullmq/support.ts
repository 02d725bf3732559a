// Queues, workers and raw store access for the queue tests, each closed after
// its test. Every test uses queues of its own names on one server per file:
// Redis, or PostgreSQL through BullMQ's PostgreSQL backend.
import { randomUUID } from 'node:crypto';
import {
  FlowProducer,
  type FlowProducerOptions,
  type Job,
  type Processor,
  Queue,
  QueueEvents,
  type QueueOptions,
  Worker,
  type WorkerOptions,
} from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import { isPostgres, jobStore, type QueueServer } from './stores.js';

export { inContext } from '../support/in-context.js';

interface Closable {
  close(): Promise<unknown>;
}

/** The queue toolkit of one test file, on the server `server()` gives. */
export function queueKit(server: () => QueueServer) {
  const open: Closable[] = [];
  afterEach(async () => {
    // Workers first (they use the queues), then the rest.
    const closing = open.splice(0).reverse();
    await Promise.all(closing.filter((c) => c instanceof Worker).map((w) => w.close(true)));
    await Promise.all(closing.filter((c) => !(c instanceof Worker)).map((c) => c.close()));
  });
  const track = <T extends Closable>(closable: T): T => {
    open.push(closable);
    return closable;
  };
  const redisPath = () => {
    const running = server();
    if (isPostgres(running)) throw new Error('this test file runs BullMQ on PostgreSQL, not Redis');
    return running.path;
  };
  let store: ReturnType<typeof jobStore> | undefined;
  /** The store of the running server: its connection, backend, and raw access. */
  const stored = () => {
    if (store === undefined) {
      const made = jobStore(server());
      store = made;
      track({
        close: () => {
          store = undefined;
          return made.close();
        },
      });
    }
    return store;
  };
  // BullMQ's constructors take the backend factory as an extra argument (none for Redis).
  const make = <T>(build: (options: object, factory?: never) => T, options: object) => {
    const { connection, factory } = stored();
    const all = { connection, ...options };
    return factory === undefined ? build(all) : build(all, factory as never);
  };
  return {
    connection: () => ({ path: redisPath() }),
    stored,
    /** A queue name no other test uses. */
    name: (label: string) => `${label}-${randomUUID().slice(0, 8)}`,
    queue: (name: string, options: Partial<QueueOptions> = {}) =>
      track(make((o, f) => new Queue(name, o as QueueOptions, f), options)),
    flows: (options: Partial<FlowProducerOptions> = {}) =>
      track(make((o, f) => new FlowProducer(o as FlowProducerOptions, f), options)),
    worker: <D>(
      name: string,
      processor: string | URL | Processor<D>,
      options: Partial<WorkerOptions> = {},
    ) => track(make((o, f) => new Worker<D>(name, processor, o as WorkerOptions, f), options)),
    events: async (name: string) => {
      const events = track(make((o, f) => new QueueEvents(name, o as never, f), {}));
      await events.waitUntilReady();
      return events;
    },
    /** A plain Redis client, for reading and tampering with what BullMQ stored. */
    redis: () => {
      const client = new Redis({ path: redisPath() });
      track({ close: () => client.quit() });
      return client;
    },
  };
}

/** Settles when `worker` has finished `count` jobs (completed or failed), with them in order. */
export function finished(
  worker: Worker,
  count: number,
): Promise<Array<{ job: Job; result?: unknown; error?: Error }>> {
  const done: Array<{ job: Job; result?: unknown; error?: Error }> = [];
  return new Promise((resolve) => {
    const check = () => {
      if (done.length === count) resolve(done);
    };
    worker.on('completed', (job, result) => {
      done.push({ job, result });
      check();
    });
    worker.on('failed', (job, error) => {
      if (job !== undefined) done.push({ job, error });
      check();
    });
  });
}

/** The Redis key of a job's hash. */
export const jobKey = (queue: string, id: string | undefined) => `bull:${queue}:${id}`;

/**
 * The telemetry metadata BullMQ 6.7 stores with a job: in its `opts` field
 * (as `tm`), which every attempt reads, and the hash field `tm` it writes
 * when an attempt fails.
 */
export async function storedMetadata(
  redis: Redis,
  queue: string,
  id: string | undefined,
): Promise<{ opts: string | undefined; field: string | null }> {
  const [opts, field] = await redis.hmget(jobKey(queue, id), 'opts', 'tm');
  return { opts: (JSON.parse(opts ?? '{}') as { tm?: string }).tm, field: field ?? null };
}

/** Replaces (or with `undefined` removes) the metadata in a stored job's opts. */
export async function replaceMetadata(
  redis: Redis,
  queue: string,
  id: string | undefined,
  tm: string | undefined,
): Promise<void> {
  const opts = JSON.parse((await redis.hget(jobKey(queue, id), 'opts')) ?? '{}');
  await redis.hset(jobKey(queue, id), 'opts', JSON.stringify({ ...opts, tm }));
}
