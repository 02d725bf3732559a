/**
 * The worker entry of a ContextPool: piscina's `filename`. Each task message
 * names the user's module and export (by an id, once known); the task runs inside a fresh Context
 * rehydrated from the caller's snapshot (an empty one for `pool.run`), and so
 * does everything it starts. Thrown values go back as records, so the caller
 * gets the error whole; results go back as they are, after a check that
 * posting them cannot crash the worker.
 */
import { encodeThrown, limitsFor } from '../serialization/internal.js';
import { ContextPoolError } from './errors.js';
import { handlerById } from './handlers.js';
import { checkResult, decodeTask, MISS } from './protocol.js';
import { SnapshotReceiver } from './snapshots.js';

const snapshots = new SnapshotReceiver(limitsFor('structured', {}));

export default async function runContextPoolTask(message: unknown): Promise<unknown> {
  // Thrown as is: a raw piscina.run caller gets piscina's plain error, readable without this package.
  const decoded = decodeTask(message);
  if (decoded === undefined) throw notATask();
  let handler = handlerById(decoded.handler, decoded.module, decoded.exportName);
  // Before anything ran: the pool sends the task again with what was missing.
  if (handler === undefined) throw MISS;
  try {
    // Loaded first, so the vars the module declares receive their entries directly.
    if (handler instanceof Promise) handler = await handler;
    const ctx = snapshots.contextFor(decoded.snapshot);
    if (ctx === undefined) throw MISS;
    let result = ctx.run(handler, decoded.task);
    // Awaited only when it is a promise: a synchronous task skips the extra tick.
    if (result instanceof Promise) result = await result;
    checkResult(result);
    return result;
  } catch (thrown) {
    throw thrown === MISS ? MISS : encodeThrown(thrown);
  }
}

function notATask(): ContextPoolError {
  return new ContextPoolError(
    'ERR_NOT_A_CONTEXT_POOL_TASK',
    'ERR_NOT_A_CONTEXT_POOL_TASK: this worker runs tasks sent by ContextPool (pool.run or pool.runInContext); a task sent ' +
      'straight through pool.piscina.run skips the context and the module it names. Use ' +
      'pool.run(task) instead.',
  );
}
