// Queues, workers and raw Redis access for the queue tests, each closed after
// its test. Every test uses queues of its own names on one Redis per file.
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
import type { RedisServer } from '../support/redis.js';

export { inContext } from '../support/in-context.js';

interface Closable {
  close(): Promise<unknown>;
}

/** The queue toolkit of one test file. */
export function queueKit(redis: () => RedisServer) {
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
  const connection = () => ({ path: redis().path });
  return {
    connection,
    /** A queue name no other test uses. */
    name: (label: string) => `${label}-${randomUUID().slice(0, 8)}`,
    queue: (name: string, options: Partial<QueueOptions> = {}) =>
      track(new Queue(name, { connection: connection(), ...options })),
    flows: (options: Partial<FlowProducerOptions> = {}) =>
      track(new FlowProducer({ connection: connection(), ...options })),
    worker: <D>(
      name: string,
      processor: string | URL | Processor<D>,
      options: Partial<WorkerOptions> = {},
    ) => track(new Worker<D>(name, processor, { connection: connection(), ...options })),
    events: async (name: string) => {
      const events = track(new QueueEvents(name, { connection: connection() }));
      await events.waitUntilReady();
      return events;
    },
    /** A plain Redis client, for reading and tampering with what BullMQ stored. */
    redis: () => {
      const client = new Redis({ path: redis().path });
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
