// Where BullMQ keeps jobs, for the tests that read or tamper with what it
// stored: Redis (a hash per job) or PostgreSQL (BullMQ 6's PostgreSQL
// backend: a row per job in bullmq.job, its options a jsonb column).
import { createPostgresBackend } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { PostgresServer } from '../support/postgres.js';
import type { RedisServer } from '../support/redis.js';

/** A server BullMQ can run on in the tests. */
export type QueueServer = RedisServer | PostgresServer;

export interface JobStore {
  /** BullMQ's `connection` option. */
  readonly connection: object;
  /** The backend factory BullMQ's constructors take; none for Redis. */
  readonly factory: typeof createPostgresBackend | undefined;
  /** How the worker-process fixture reaches the store. */
  readonly workerArgs: readonly string[];
  /** The telemetry metadata in a job's opts, which every attempt reads. */
  metadata(queue: string, id: string | undefined): Promise<string | undefined>;
  /** Replaces (or with `undefined` removes) the metadata in a stored job's opts. */
  replaceMetadata(queue: string, id: string | undefined, tm: string | undefined): Promise<void>;
  /** Everything stored, as text (every key, or every table of BullMQ's schema). */
  storedText(): Promise<string>;
  close(): Promise<void>;
}

export const isPostgres = (server: QueueServer): server is PostgresServer => 'host' in server;

function redisStore(server: RedisServer): JobStore {
  const redis = new Redis({ path: server.path });
  const key = (queue: string, id: string | undefined) => `bull:${queue}:${id}`;
  const opts = async (queue: string, id: string | undefined) =>
    JSON.parse((await redis.hget(key(queue, id), 'opts')) ?? '{}');
  return {
    connection: { path: server.path },
    factory: undefined,
    workerArgs: ['--socket', server.path],
    metadata: async (queue, id) => (await opts(queue, id)).tm,
    async replaceMetadata(queue, id, tm) {
      await redis.hset(key(queue, id), 'opts', JSON.stringify({ ...(await opts(queue, id)), tm }));
    },
    async storedText() {
      const keys = await redis.keys('*');
      const values = await Promise.all(
        keys.map(async (k) => {
          const type = await redis.type(k);
          if (type === 'hash') return JSON.stringify(await redis.hgetall(k));
          if (type === 'string') return redis.get(k);
          if (type === 'list') return JSON.stringify(await redis.lrange(k, 0, -1));
          if (type === 'zset') return JSON.stringify(await redis.zrange(k, 0, -1));
          if (type === 'set') return JSON.stringify(await redis.smembers(k));
          return JSON.stringify(await redis.xrange(k, '-', '+'));
        }),
      );
      return values.join('\n');
    },
    close: () => redis.quit().then(() => undefined),
  };
}

function postgresStore(server: PostgresServer): JobStore {
  const client = new pg.Client(server.connection);
  const connected = client.connect();
  const query = async (text: string, values?: unknown[]) => {
    await connected;
    return (await client.query(text, values)).rows;
  };
  return {
    connection: { ...server.connection, migrate: true },
    factory: createPostgresBackend,
    workerArgs: ['--postgres', server.host],
    async metadata(queue, id) {
      const [row] = await query(
        "SELECT opts->'telemetry'->>'metadata' AS tm FROM bullmq.job WHERE queue = $1 AND id = $2",
        [queue, id],
      );
      return row?.tm ?? undefined;
    },
    async replaceMetadata(queue, id, tm) {
      const change =
        tm === undefined
          ? "opts #- '{telemetry,metadata}'"
          : "jsonb_set(opts, '{telemetry}', coalesce(opts->'telemetry', '{}') || jsonb_build_object('metadata', $3::text))";
      await query(
        `UPDATE bullmq.job SET opts = ${change} WHERE queue = $1 AND id = $2`,
        tm === undefined ? [queue, id] : [queue, id, tm],
      );
    },
    async storedText() {
      const tables = await query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'bullmq'",
      );
      const texts = await Promise.all(
        tables.map(({ table_name }) =>
          query(
            `SELECT coalesce(string_agg(t::text, ' '), '') AS text FROM bullmq."${table_name}" t`,
          ),
        ),
      );
      return texts.map(([row]) => row?.text).join('\n');
    },
    close: () => client.end(),
  };
}

/** A store client for `server`; close it after the test. */
export const jobStore = (server: QueueServer): JobStore =>
  isPostgres(server) ? postgresStore(server) : redisStore(server);
