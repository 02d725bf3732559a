import { BRAND } from '../context/brand.js';
import { brandErrorClass, CodedError, describe, withCode } from '../context/internal.js';
import { restoreErrorsAs } from '../serialization/internal.js';

/** The codes a ContextPoolError carries. */
export type ContextPoolErrorCode =
  | 'ERR_WORKER_EXITED'
  | 'ERR_TASK_ARGUMENT'
  | 'ERR_TASK_RESULT'
  | 'ERR_NOT_A_CONTEXT_POOL_TASK'
  | 'ERR_NO_HANDLER'
  | 'ERR_WORKER_MODULE';

/**
 * A failure of the pool rather than of the task: the worker running it died
 * (`ERR_WORKER_EXITED`, the original error as `cause`), the task could not be
 * sent (`ERR_TASK_ARGUMENT`), its result could not be sent back
 * (`ERR_TASK_RESULT`), its module exports no such handler (`ERR_NO_HANDLER`)
 * or cannot be loaded here (`ERR_WORKER_MODULE`: a `.ts` file without a
 * loader), or a task reached the worker without going through ContextPool
 * (`ERR_NOT_A_CONTEXT_POOL_TASK`). `instanceof` holds across package copies.
 */
export class ContextPoolError extends CodedError<ContextPoolErrorCode> {
  constructor(code: ContextPoolErrorCode, message: string, options?: { cause?: unknown }) {
    super('ContextPoolError', code, message, options);
  }
}
brandErrorClass(ContextPoolError, BRAND.contextPoolError);
restoreErrorsAs('ContextPoolError', ContextPoolError);

// piscina's own errors, recognised by their fixed messages and given a code.
const PISCINA_CODES: Readonly<Record<string, string>> = {
  'Terminating worker thread': 'ERR_POOL_DESTROYED',
  'Task queue is at limit': 'ERR_QUEUE_FULL',
  'No task queue available and all Workers are busy': 'ERR_QUEUE_FULL',
  'Close operation timed out': 'ERR_CLOSE_TIMEOUT',
};

/**
 * What a rejection or 'error' event from piscina means to the caller. Task
 * failures never arrive here (the entry sends them as records); what does is
 * piscina's own errors, given a code in place, or the death of a worker.
 */
export function poolFailure(error: unknown): Error {
  if (error instanceof Error) {
    if (error.name === 'AbortError') return withCode(error, 'ABORT_ERR');
    const code = PISCINA_CODES[error.message];
    if (code !== undefined) return withCode(error, code);
  }
  // piscina's message, kept: code written for piscina may match on it. What a
  // dying worker threw may be no Error at all (`[object Object]` says nothing).
  const message =
    error instanceof Error
      ? error.message
      : typeof (error as { message?: unknown })?.message === 'string'
        ? (error as { message: string }).message
        : `a worker died, throwing ${describe(error)}`;
  return new ContextPoolError('ERR_WORKER_EXITED', message, { cause: error });
}
