/**
 * What runs a ContextPool task in a worker (entry.cts loads it). Each task message
 * names the user's module and export by an id (introduced with the first task
 * that names it here); the task runs inside a fresh Context rebuilt from the
 * caller's snapshot (an empty one for `pool.run`), and so does everything it
 * starts. Thrown values go back as records, so the caller gets the error
 * whole; results go back as they are, after a check that posting them cannot
 * crash the worker.
 */
import type { Context } from '../context/index.js';
import { serializeContext } from '../serialization/index.js';
import { encodeThrown, limitsFor } from '../serialization/internal.js';
import { ContextPoolError } from './errors.js';
import { flushSoon, useFlushLine } from './flush.js';
import { handlerById, introduce, loadedModules } from './handlers.js';
import { type DecodedTask, decodeTask, resultWithContext } from './protocol.js';
import { checkResult } from './results.js';
import { SnapshotReceiver } from './snapshots.js';

const snapshots = new SnapshotReceiver(limitsFor('structured', {}), loadedModules);

/**
 * Runs one task. Returns the result itself when everything was synchronous
 * (piscina awaits whatever it gets: a promise here would cost every task a
 * tick), else a promise; a failure is thrown or rejected as records.
 */
export default function runContextPoolTask(message: unknown): unknown {
  const task = decodeTask(message);
  // Thrown as is: a raw piscina.run caller gets piscina's plain error, readable without this package.
  if (task === undefined) throw notATask();
  // First, before anything can fail: what the message introduces is kept, so
  // the pool's record of what this worker holds is true whatever happens next.
  if (task.flushLine !== undefined) useFlushLine(task.flushLine);
  if (task.forget !== undefined) snapshots.forget(task.forget);
  if (task.module !== undefined) introduce(task.handler, task.module[0], task.module[1]);
  if (task.baseEntries !== undefined && !task.baseOnce && task.snapshot?.baseId !== undefined)
    snapshots.keep(task.snapshot.baseId, task.baseEntries);
  let handler: ReturnType<typeof handlerById>;
  try {
    // Loaded first, so the vars the module declares receive their entries directly.
    handler = handlerById(task.handler);
  } catch (thrown) {
    throw encodeThrown(thrown);
  }
  if (handler instanceof Promise) return handler.then((loaded) => runIn(task, loaded), failed);
  return runIn(task, handler);
}

function runIn(task: DecodedTask, handler: (task: unknown) => unknown): unknown {
  try {
    const ctx = snapshots.contextFor(task.snapshot, task.baseOnce ? task.baseEntries : undefined);
    const result = ctx.run(handler, task.task);
    // A result that cannot be sent back fails in finish: that too goes back as records.
    if (result instanceof Promise)
      return result.then((settled) => finish(task, ctx, settled)).then(undefined, failed);
    return finish(task, ctx, result);
  } catch (thrown) {
    throw encodeThrown(thrown);
  }
}

function finish(task: DecodedTask, ctx: Context, result: unknown): unknown {
  flushSoon();
  checkResult(result);
  return task.returnContext ? resultWithContext(result, serializeContext(ctx)) : result;
}

function failed(thrown: unknown): never {
  flushSoon();
  throw encodeThrown(thrown);
}

function notATask(): ContextPoolError {
  return new ContextPoolError(
    'ERR_NOT_A_CONTEXT_POOL_TASK',
    'ERR_NOT_A_CONTEXT_POOL_TASK: this worker runs tasks sent by ContextPool (pool.run or pool.runInContext); a task sent ' +
      'straight through pool.piscina.run skips the context and the module it names. Use ' +
      'pool.run(task) instead.',
  );
}
