/**
 * What the other layers of this package (serialization, workers) may use of
 * the context layer's internals. Not exported from the package root.
 */
export { contextOf, copyOf, current, decodeArrived, shareMap } from './context.js';
export { describe, invalidArgType, invalidArgValue, outOfRange, withCode } from './errors.js';
export { hamtForEach } from './hamt.js';
export { declaredVar } from './registry.js';
export type { ContextState, ContextVarCodec, PendingEntry, VarState } from './state.js';
