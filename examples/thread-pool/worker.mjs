// Runs in the pool's threads. Nothing about the request is passed in: the
// request id, user and tenant come from the context the task runs in.
import { pbkdf2Sync } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { requestId, tenant, user } from './context.mjs';

function log(message) {
  const line = `[request ${requestId.get()}] [${tenant.get()}/${user.get()}] ${message}`;
  // Log lines go to the main thread, as a log shipper would collect them.
  parentPort.postMessage({ type: 'log', requestId: requestId.get(), line });
}

export default function hashPassword({ password, salt, iterations }) {
  const started = performance.now();
  const hash = pbkdf2Sync(password, salt, iterations, 32, 'sha256').toString('hex');
  log(`hashed a password in ${(performance.now() - started).toFixed(1)} ms`);
  return hash;
}
