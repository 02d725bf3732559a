import { type Context, ContextSerializationError, copyContext } from '../context/index.js';
import { checkContext, invalidArgType } from '../context/internal.js';
import { contextFromEntries, encodeEntries, type IncomingEntry } from './entries.js';
import { malformed } from './envelope.js';
import { fromJson, toJson } from './json.js';
import {
  checkDeserializeOptions,
  checkSerializeOptions,
  type DeserializeOptions,
  limitsFor,
  type SerializeOptions,
} from './options.js';
import { fromStructured, type StructuredSnapshot, toStructured } from './structured.js';

export { ContextSerializationError } from '../context/index.js';
export {
  DEFAULT_LIMITS,
  type DeserializeOptions,
  type SerializeOptions,
  type SigningKey,
  type SnapshotFormat,
  type SnapshotLimits,
} from './options.js';
export type { StructuredSnapshot } from './structured.js';

/**
 * A snapshot of `ctx` (default: a copy of the current context) that can leave
 * this thread: its propagating vars, and entries that arrived for names not
 * declared here. `structured` (default) is a plain object for postMessage;
 * `json` is printable ASCII, signed when given a `key`.
 *
 * Throws `ContextSerializationError` `ERR_CONTEXT_SERIALIZE`, naming the var
 * and the path inside its value, for anything that cannot leave or exceeds
 * the limits a receiver with the same options enforces. A structured snapshot
 * refers to the context's objects: post it before changing them.
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
 * A new Context from a snapshot of either format. Nothing in the input is
 * trusted: the version, shape, sizes, nesting and (with `key`) signature and
 * age are checked; anything wrong throws `ContextSerializationError`
 * `ERR_CONTEXT_DESERIALIZE`.
 *
 * @example
 * const ctx = deserializeContext(req.headers['x-context'], { key: [current, previous], maxAge: 60_000 });
 * ctx.run(handle);
 */
export function deserializeContext(
  data: StructuredSnapshot | string,
  options?: DeserializeOptions,
): Context {
  const checked = checkDeserializeOptions(options);
  const isJson = typeof data === 'string';
  if (!isJson && (typeof data !== 'object' || data === null || Array.isArray(data))) {
    throw invalidArgType('data', 'a snapshot string or object', data);
  }
  let incoming: IncomingEntry[];
  try {
    if (isJson) {
      incoming = fromJson(data, limitsFor('json', checked.given), { ...checked, now: Date.now });
    } else if (checked.keys.length > 0) {
      throw malformed('it is a structured snapshot, which is never signed, and a key is required');
    } else {
      incoming = fromStructured(data, limitsFor('structured', checked.given));
    }
  } catch (error) {
    if (error instanceof ContextSerializationError) throw error;
    throw malformed('reading it failed', error);
  }
  return contextFromEntries(incoming);
}
