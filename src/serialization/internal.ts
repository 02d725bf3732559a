/**
 * What the workers layer uses of serialization's internals. Not exported from
 * the package root or its subpaths.
 */

export { encodeValue, FROZEN } from './encode-value.js';
export { applyChanges, contextFromEntries, encodeEntries } from './entries.js';
export { errorClasses, readEntries, restoreErrorsAs } from './envelope.js';
export { inspectValue, Refusal } from './inspect.js';
export { type Limits, limitsFor } from './options.js';
export { decodeRecords, encodeRecords, type WireRecord } from './records.js';
