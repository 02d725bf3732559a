export { ContextPoolError, type ContextPoolErrorCode } from './errors.js';
export {
  CONTEXT_POOL_DEFAULTS,
  ContextPool,
  type ContextPoolOptions,
  type RunInContextOptions,
  type RunOptions,
} from './pool.js';
