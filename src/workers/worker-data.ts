import { Piscina } from 'piscina';

/**
 * The pool's `workerData` option, as a ContextPool worker module sees it.
 * Import it from here rather than from piscina: where two copies of piscina
 * are installed (a linked or workspace install of this package), the worker
 * runs this package's copy, and another copy's `workerData` is null.
 *
 * @example
 * import { workerData } from 'contextvars/workers';
 * export default (task) => `${workerData.prefix}:${task}`;
 */
export const workerData: unknown = Piscina.workerData;

/** True inside a pool's worker thread (this package's copy of piscina says so). */
export const isWorkerThread: boolean = Piscina.isWorkerThread;
