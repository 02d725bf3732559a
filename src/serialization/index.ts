import { type Context, copyContext } from '../context/index.js';
import { checkContext } from '../context/internal.js';
import { cannotDeserialize } from './errors.js';
import {
  checkDeserializeOptions,
  checkSerializeOptions,
  type DeserializeOptions,
  limitsFor,
  type SerializeOptions,
} from './options.js';
import { contextFromEntries } from './read/context.js';
import { fromJson, fromStructured } from './read/envelope.js';
import { encodeEntries } from './write/entries.js';
import { type StructuredSnapshot, toJson, toStructured } from './write/envelope.js';

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
 * `json` is printable ASCII, signed when given a `key`.
 *
 * Throws `ContextSerializationError` `ERR_CONTEXT_SERIALIZE`, naming the var
 * and the path inside its value, for anything that cannot leave (a function,
 * a class instance without a codec...) or exceeds the limits a receiver with
 * the same options enforces. A structured snapshot refers to the context's
 * objects: post it before changing them.
 *
 * @example
 * const header = serializeContext(undefined, { format: 'json', key: secret });
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
  const checked = checkSerializeOptions(options);
  const source = ctx === undefined ? copyContext() : checkContext(ctx, 'ctx');
  const encoded = encodeEntries(source, checked.format, checked.limits);
  return checked.format === 'json'
    ? toJson(encoded, checked.key, Date.now, checked.limits)
    : toStructured(encoded);
}

/**
 * A new Context from a snapshot of either format. Nothing in `data` is
 * trusted: anything that is not a readable snapshot (malformed, forged,
 * oversized, too old, from a newer format version, or not a snapshot at all:
 * a number, null...) throws `ContextSerializationError`
 * `ERR_CONTEXT_DESERIALIZE`, so one `catch` handles all bad input. Only bad
 * options throw TypeError or RangeError.
 *
 * @example
 * const ctx = deserializeContext(req.headers['x-context'], { key: [current, previous], maxAge: 60_000 });
 * ctx.run(handle);
 */
export function deserializeContext(data: unknown, options?: DeserializeOptions): Context {
  const checked = checkDeserializeOptions(options);
  if (typeof data === 'string') {
    return contextFromEntries(
      fromJson(data, limitsFor('json', checked.given), { ...checked, now: Date.now }),
    );
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw cannotDeserialize(
      `a snapshot is a string (json) or a plain object (structured), not ${describeInput(data)}`,
    );
  }
  if (checked.keys.length > 0) {
    throw cannotDeserialize(
      'it is a structured snapshot, which is never signed, and a key is required',
    );
  }
  return contextFromEntries(fromStructured(data, limitsFor('structured', checked.given)));
}

function describeInput(data: unknown): string {
  if (data === null) return 'null';
  if (Array.isArray(data)) return 'an array';
  return typeof data === 'undefined' ? 'undefined' : `a ${typeof data}`;
}
