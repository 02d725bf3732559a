export { ContextPoolError, type ContextPoolErrorCode } from './errors.js';
export {
  CONTEXT_POOL_DEFAULTS,
  ContextPool,
  type ContextPoolOptions,
  type HandlerName,
  type ResultOf,
  type RunInContextOptions,
  type RunOptions,
  type TaskOf,
  type TypedContextPool,
  type TypedRunOptions,
  type WithContext,
} from './pool.js';
export { isWorkerThread, workerData } from './worker-data.js';
