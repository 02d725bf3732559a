// The Redis connection of the jobs example: a private redis-server on a unix
// socket (examples/queue/redis.mjs), stopped when the process exits. In your
// code, this is your own `{ host, port }`.
import { startRedis } from '../queue/redis.mjs';

const redis = await startRedis();
process.once('beforeExit', () => redis.stop());

export const connection = { path: redis.path };
export const stopRedis = () => redis.stop();
