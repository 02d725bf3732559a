/**
 * What the other layers of this package (serialization, workers) may use of
 * the context layer's internals. Not exported from the package root.
 */
export { copyOf, current, decodeArrived, shareMap, writeEntry } from './context.js';
export { describe, invalidArgType, invalidArgValue, outOfRange, withCode } from './errors.js';
export { ABSENT, type Absent, type Hamt, hamtEntries } from './hamt.js';
export { declaredVars } from './registry.js';
export type { ContextState, ContextVarCodec, PendingEntry, VarState } from './state.js';
