/**
 * What the other layers of this package (workers, integrations) use of
 * serialization's internals. Not exported from the package root or its
 * subpaths.
 */
export { cannotDeserialize } from './errors.js';
export { boundUse, limitsFor, refuseUndefinedKey } from './options.js';
export { applyChanges, contextFromEntries } from './read/context.js';
export { readEntries } from './read/entries.js';
export { restoreErrorsAs } from './read/records.js';
export { snapshotReader, snapshotWriter } from './snapshot.js';
export { decodeThrown, encodeThrown, isThrownRecords } from './thrown.js';
export {
  ENTRY_FLAG,
  entryBytes,
  JSON_SNAPSHOT_START,
  LIST_OVERHEAD,
  type Limits,
  MAX_USE_LENGTH,
} from './wire.js';
export {
  type EncodedEntries,
  encodeCarried,
  encodeEntries,
  refreshEntries,
} from './write/entries.js';
export { encodeValue } from './write/value.js';
