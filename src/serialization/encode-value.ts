import { asciiJson } from './ascii.js';
import { isDeepFrozen } from './frozen.js';
import { inspectValue, isJsonExactPrimitive, primitiveBytes } from './inspect.js';
import type { Limits, SnapshotFormat } from './options.js';
import { encodeRecords, recordsWalkLimits } from './records.js';

/** Flags of a wire entry. */
export const RECORDS = 1;
export const CODED = 2;
export const FROZEN = 4;

/** One value ready for a wire entry. */
export interface EncodedValue {
  /** RECORDS and FROZEN bits. */
  readonly flags: number;
  /** The value itself (structured clone or plain JSON carries it), or its records. */
  readonly payload: unknown;
  /** For `json`: the payload as JSON text. */
  readonly text: string | undefined;
  readonly bytes: number;
  readonly depth: number;
}

type CacheSlot = { [F in SnapshotFormat]?: EncodedValue };
const cache = new WeakMap<object, CacheSlot>();

/**
 * Encodes `value` for `format`. Deep-frozen plain data is encoded once and
 * reused (its limits are still checked on every use); anything else mutable
 * is inspected and encoded now, as it is now.
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
      // Re-inspect so the refusal names the path, as a first encoding would.
      return encodeFresh(value, format, limits, FROZEN);
    }
    return cached;
  }
  const encoded = encodeFresh(value, format, limits, FROZEN);
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
    if (bytes > limits.maxBytes) return encodeFresh(value, format, limits, 0);
    return { flags: 0, payload: value, text: undefined, bytes, depth: 0 };
  }
  if (!isJsonExactPrimitive(value)) return encodeFresh(value, format, limits, 0);
  const text = asciiJson(value);
  return { flags: 0, payload: value, text, bytes: text.length, depth: 0 };
}

/**
 * `bytes` is what the receiver will count for the payload: for `json`, its
 * exact text length; for `structured`, the same walk the receiver makes over
 * what arrives (the value itself, or its records).
 */
function encodeFresh(
  value: unknown,
  format: SnapshotFormat,
  limits: Limits,
  frozen: number,
): EncodedValue {
  const facts = inspectValue(value, limits, format === 'json');
  const asRecords = format === 'structured' ? facts.needsRecords : !facts.jsonExact;
  const payload = asRecords ? encodeRecords(value) : value;
  if (format === 'json') {
    const text = asciiJson(payload);
    return {
      flags: (asRecords ? RECORDS : 0) | frozen,
      payload,
      text,
      bytes: text.length,
      depth: facts.depth,
    };
  }
  const bytes = asRecords
    ? inspectValue(payload, recordsWalkLimits(limits), false).bytes
    : facts.bytes;
  return {
    flags: (asRecords ? RECORDS : 0) | frozen,
    payload,
    text: undefined,
    bytes,
    depth: facts.depth,
  };
}
