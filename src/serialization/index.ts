import type { Context } from '../context/index.js';
import {
  checkDeserializeOptions,
  checkSerializeOptions,
  type DeserializeOptions,
  type SerializeOptions,
} from './options.js';
import { readSnapshot, writeSnapshot } from './snapshot.js';
import type { StructuredSnapshot } from './write/envelope.js';

export { ContextSerializationError } from '../context/index.js';
export type {
  DeserializeOptions,
  SerializeOptions,
  SigningKey,
  SnapshotFormat,
  SnapshotLimits,
} from './options.js';
export { DEFAULT_LIMITS } from './wire.js';
export type { StructuredSnapshot } from './write/envelope.js';

/**
 * A snapshot of `ctx` (default: a copy of the current context) that can leave
 * this thread: its propagating vars, and entries that arrived for names not
 * declared here. `structured` (default) is a plain object for postMessage;
 * `json` is printable ASCII, signed when given a `key` (and bound to `use`
 * when given one: only a reader expecting that use accepts it).
 *
 * Throws `ContextSerializationError` `ERR_CONTEXT_SERIALIZE`, naming the var
 * and the path inside its value, for anything that cannot leave (a function,
 * a class instance without a codec...) or exceeds the limits a receiver with
 * the same options enforces. A structured snapshot refers to the context's
 * objects: post it before changing them.
 *
 * @example
 * const text = serializeContext(undefined, { format: 'json', key: secret, use: 'reports' });
 */
export function serializeContext(
  ctx?: Context,
  options?: SerializeOptions & { format?: 'structured' },
): StructuredSnapshot;
export function serializeContext(
  ctx: Context | undefined,
  options: SerializeOptions & { format: 'json' },
): string;
export function serializeContext(
  ctx?: Context,
  options?: SerializeOptions,
): StructuredSnapshot | string;
export function serializeContext(
  ctx?: Context,
  options?: SerializeOptions,
): StructuredSnapshot | string {
  return writeSnapshot(ctx, checkSerializeOptions(options));
}

/**
 * A new Context from a snapshot of either format. Nothing in `data` is
 * trusted: anything that is not a readable snapshot (malformed, forged,
 * oversized, too old or too far in the future, signed for another `use`,
 * from a newer format version, or not a snapshot at all: a number, null...)
 * throws `ContextSerializationError`
 * `ERR_CONTEXT_DESERIALIZE`, so one `catch` handles all bad input. Only bad
 * options throw TypeError or RangeError.
 *
 * @example
 * const ctx = deserializeContext(text, { key: [current, previous], use: 'reports', maxAge: 60_000 });
 * ctx.run(handle);
 */
export function deserializeContext(data: unknown, options?: DeserializeOptions): Context {
  return readSnapshot(data, checkDeserializeOptions(options));
}
