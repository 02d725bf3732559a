/**
 * The worker entry of a ContextPool: piscina's `filename`. Each task message
 * names the user's module and export; the task runs inside a fresh Context
 * rehydrated from the caller's snapshot (an empty one for `pool.run`), and so
 * does everything it starts. Thrown values go back as records, so the caller
 * gets the error whole; results go back as they are, after a check that
 * posting them cannot crash the worker.
 */
import { Context } from '../context/index.js';
import { contextFromEntries, limitsFor, readEntries } from '../serialization/internal.js';
import { ContextPoolError } from './errors.js';
import { handlerFor } from './handlers.js';
import { checkResult, encodeThrown, isTaskMessage, type TaskMessage } from './protocol.js';

const LIMITS = limitsFor('structured', {});

export default async function runContextPoolTask(message: unknown): Promise<unknown> {
  // Thrown as is: a raw piscina.run caller gets piscina's plain error, readable without this package.
  if (!isTaskMessage(message)) throw notATask();
  try {
    const handler = await handlerFor(message.m, message.n);
    const ctx = contextOf(message);
    const result = await ctx.run(handler, message.t);
    checkResult(result);
    return result;
  } catch (thrown) {
    throw encodeThrown(thrown);
  }
}

function contextOf(message: TaskMessage): Context {
  if (message.e === null) return new Context();
  // The pool's main side checked the limits; only this package writes here.
  return contextFromEntries(readEntries(message.e, LIMITS, 'none'));
}

function notATask(): ContextPoolError {
  return new ContextPoolError(
    'ERR_NOT_A_CONTEXT_POOL_TASK',
    'ERR_NOT_A_CONTEXT_POOL_TASK: this worker runs tasks sent by ContextPool (pool.run or pool.runInContext); a task sent ' +
      'straight through pool.piscina.run skips the context and the module it names. Use ' +
      'pool.run(task) instead.',
  );
}
