// A real Redis for the queue tests: Debian's redis-server, started by the
// tests on a unix socket in a fresh directory (no TCP port, nothing saved)
// and stopped after. BullMQ runs Lua scripts: no mock can stand in for it.
import * as redis from '../../examples/queue/redis.mjs';
import { serverForFile } from './server-for-file.js';

/** Whether `redis-server` can be started on this machine. */
export const hasRedisServer: boolean = redis.hasRedisServer();

/** How to get Redis, for the messages of a run without it. */
export const GET_REDIS: string = redis.GET_REDIS;

export interface RedisServer {
  /** The unix socket to connect to: ioredis and BullMQ take `{ path }`. */
  readonly path: string;
  stop(): Promise<void>;
}

/**
 * One Redis for a test file: started before its tests, stopped after. The
 * returned getter gives the running server. Call it inside
 * `describe.runIf(hasRedisServer)`.
 */
export function redisForFile(): () => RedisServer {
  return serverForFile<RedisServer>(redis.startRedis, 'Redis');
}
