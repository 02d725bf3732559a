/**
 * What the other layers of this package (serialization, workers,
 * integrations) may use of the context layer. Not exported from the package
 * root. They read a context through `viewOf` and change one only through the
 * functions here, never through its fields.
 */
export {
  arrive,
  carriedEntries,
  carriedEntry,
  isAnythingCarried,
  registerCarried,
} from './carried.js';
export {
  checkContext,
  contextOf,
  copyOf,
  current,
  decodeArrived,
  eraseEntry,
  runAsCallback,
  setEntry,
  setPending,
  viewOf,
} from './context.js';
export {
  brandErrorClass,
  CodedError,
  describe,
  invalidArgType,
  invalidArgValue,
  outOfRange,
  withCode,
} from './errors.js';
export { type Hamt, type HashedKey, hamtDiff, hamtForEach } from './hamt.js';
export { forEachPending, type Pending, pendingFrom } from './pending.js';
export { declaredVar, isLocalName, localDeclarations } from './registry.js';
export type { CarriedEntry, ContextState, PendingEntry, VarState } from './state.js';
