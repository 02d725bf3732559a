// The pino recipe: one logger per process and thread, whose mixin reads the
// request's id from the context on every line. Nothing hands a logger or an
// id around: the pool's threads, the second service and the job process all
// log the same way.
import { threadId } from 'node:worker_threads';
import pino from 'pino';
import { requestId } from './context.mjs';

const role = process.env.EXAMPLE_ROLE ?? 'main';
export const log = pino({
  base: { where: threadId === 0 ? role : `${role}, thread ${threadId}` },
  mixin: () => ({ reqId: requestId.get(undefined) }),
});
