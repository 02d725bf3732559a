// The demo's one logging function. It stamps each line with the request's
// context, read where the line is written (here: in a worker thread), and
// ships it to the main thread, as a log shipper would collect it. Swap this
// function for your logger; the point is what it finds in the context.
import { parentPort } from 'node:worker_threads';
import { requestId, tenant, user } from './context.mjs';

export function log(message) {
  const line = `[request ${requestId.get()}] [${tenant.get()}/${user.get()}] ${message}`;
  parentPort?.postMessage({ type: 'log', requestId: requestId.get(), line });
}
