/**
 * What the other layers of this package (serialization, workers) may use of
 * the context layer's internals. Not exported from the package root.
 */
export {
  checkContext,
  contextOf,
  copyOf,
  current,
  decodeArrived,
  eraseEntry,
  putEntry,
  putPending,
  shareMap,
} from './context.js';
export { describe, invalidArgType, invalidArgValue, outOfRange, withCode } from './errors.js';
export { type Hamt, type HashedKey, hamtDiff, hamtForEach } from './hamt.js';
export { declaredVar } from './registry.js';
export type { ContextState, PendingEntry, VarState } from './state.js';
