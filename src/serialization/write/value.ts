import { asciiJson } from '../ascii.js';
import { isDeepFrozen } from '../frozen.js';
import { isJsonExactPrimitive } from '../kinds.js';
import type { SnapshotFormat } from '../options.js';
import { recordListBytes, walkValue } from '../walk.js';
import { ENTRY_FLAG, type Limits, primitiveBytes } from '../wire.js';
import { encodeRecords } from './records.js';

/** One value ready for a wire entry. */
export interface EncodedValue {
  /** `ENTRY_FLAG.records` and `ENTRY_FLAG.frozen` bits. */
  readonly flags: number;
  /** The value itself (structured clone or plain JSON carries it), or its records. */
  readonly payload: unknown;
  /** For `json`: the payload as JSON text. */
  readonly text: string | undefined;
  /** What the receiver counts for the payload against maxBytes. */
  readonly bytes: number;
  readonly depth: number;
}

type CacheSlot = { [F in SnapshotFormat]?: EncodedValue };
const cache = new WeakMap<object, CacheSlot>();

/**
 * Encodes a context value for `format`. Deep-frozen plain data is encoded
 * once and reused (its limits are still checked on every use); anything else
 * mutable is walked and encoded now, as it is now. Throws a `Refusal` for
 * what cannot leave the thread.
 */
export function encodeValue(value: unknown, format: SnapshotFormat, limits: Limits): EncodedValue {
  if (typeof value !== 'object' || value === null) return encodePrimitive(value, format, limits);
  if (!isDeepFrozen(value)) return encodeFresh(value, format, limits, 0);
  let slot = cache.get(value);
  if (slot === undefined) {
    slot = {};
    cache.set(value, slot);
  }
  const cached = slot[format];
  if (cached !== undefined) {
    if (cached.bytes > limits.maxBytes || cached.depth > limits.maxDepth) {
      // Walk again so the refusal names the path, as a first encoding would.
      return encodeFresh(value, format, limits, ENTRY_FLAG.frozen);
    }
    return cached;
  }
  const encoded = encodeFresh(value, format, limits, ENTRY_FLAG.frozen);
  slot[format] = encoded;
  return encoded;
}

function encodePrimitive(value: unknown, format: SnapshotFormat, limits: Limits): EncodedValue {
  if (typeof value === 'function' || typeof value === 'symbol') {
    // Refused by the walk, with the reason.
    return encodeFresh(value, format, limits, 0);
  }
  if (format === 'structured') {
    const bytes = primitiveBytes(value);
    if (bytes > limits.maxBytes || typeof value === 'bigint') {
      return encodeFresh(value, format, limits, 0);
    }
    return { flags: 0, payload: value, text: undefined, bytes, depth: 0 };
  }
  if (!isJsonExactPrimitive(value)) return encodeFresh(value, format, limits, 0);
  const text = asciiJson(value);
  return { flags: 0, payload: value, text, bytes: text.length, depth: 0 };
}

/**
 * `bytes` is what the receiver will count for the payload: for `json`, its
 * exact text length; for `structured`, the walk the receiver makes over what
 * arrives (the value itself, or its records).
 */
function encodeFresh(
  value: unknown,
  format: SnapshotFormat,
  limits: Limits,
  frozen: number,
): EncodedValue {
  const shape = walkValue(value, limits, 'send', format === 'json');
  const asRecords = format === 'structured' ? shape.needsRecords : !shape.jsonExact;
  const payload = asRecords ? encodeRecords(value) : value;
  const flags = (asRecords ? ENTRY_FLAG.records : 0) | frozen;
  if (format === 'json') {
    const text = asciiJson(payload);
    return { flags, payload, text, bytes: text.length, depth: shape.depth };
  }
  const bytes = asRecords ? recordListBytes(payload, limits) : shape.bytes;
  return { flags, payload, text: undefined, bytes, depth: shape.depth };
}
