import { cannotSerialize } from '../errors.js';
import type { SigningKey } from '../options.js';
import { signatureOf } from '../signing.js';
import {
  FORMAT_TAG,
  FORMAT_VERSION,
  JSON_SNAPSHOT_START,
  type Limits,
  TIME_FIELD,
  USE_FIELD,
} from '../wire.js';
import type { EncodedEntries } from './entries.js';

/**
 * A snapshot in the `structured` format: a plain object for `postMessage`.
 * `e` lists `name, flags, payload` for each entry; the payload is the value
 * itself (the structured clone of postMessage copies it) or its records.
 */
export interface StructuredSnapshot {
  readonly v: number;
  readonly f: typeof FORMAT_TAG.structured;
  readonly e: readonly unknown[];
}

const envelopes = new WeakMap<EncodedEntries, StructuredSnapshot>();

export function toStructured(encoded: EncodedEntries): StructuredSnapshot {
  let envelope = envelopes.get(encoded);
  if (envelope === undefined) {
    envelope = { v: FORMAT_VERSION, f: FORMAT_TAG.structured, e: encoded.entries };
    envelopes.set(encoded, envelope);
  }
  return envelope;
}

/**
 * The `json` format: `{"v":2,"f":"j","e":[...]}` in printable ASCII only.
 * Signed, it also carries `"t"` (milliseconds since the epoch), `"u"` (the
 * use, when there is one) and ends with
 * `,"s":"<HMAC-SHA256 of the text before it, closed with }>"}`.
 */
export function toJson(
  encoded: EncodedEntries,
  key: SigningKey | undefined,
  use: string | undefined,
  now: () => number,
  limits: Limits,
): string {
  const head = `${JSON_SNAPSHOT_START}${FORMAT_VERSION},"f":"${FORMAT_TAG.json}"`;
  const entries = `"e":[${encoded.text}]`;
  let text: string;
  if (key === undefined) {
    text = `${head},${entries}}`;
  } else {
    // A use is printable ASCII: JSON.stringify escapes only its quotes and backslashes.
    const bound = use === undefined ? '' : `,"${USE_FIELD}":${JSON.stringify(use)}`;
    const body = `${head},"${TIME_FIELD}":${now()}${bound},${entries}}`;
    text = `${body.slice(0, -1)},"s":"${signatureOf(body, key)}"}`;
  }
  if (text.length > limits.maxBytes) {
    throw cannotSerialize(
      encoded.largest ?? '',
      `(the largest entry) makes the json text ${text.length} bytes, larger than maxBytes (${limits.maxBytes})`,
    );
  }
  return text;
}
