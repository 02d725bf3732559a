// Runs in the pool's threads. Nothing about the request is passed in: the
// request id, user and tenant come from the context the task runs in. The
// same module serves bare piscina and ContextPool.
import { pbkdf2Sync } from 'node:crypto';
import { log } from './log.mjs';

export default function hashPassword({ password, salt, iterations }) {
  const started = performance.now();
  const hash = pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('hex');
  const workerMs = performance.now() - started;
  log.info(`hashed a password in ${workerMs.toFixed(1)} ms`);
  return { hash, workerMs };
}
