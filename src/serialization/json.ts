import { type EncodedEntries, type IncomingEntry, serializeError } from './entries.js';
import { checkVersion, FORMAT_VERSION, malformed, readEntries } from './envelope.js';
import type { Limits, SigningKey } from './options.js';
import { signatureOf, verifies } from './signing.js';

/**
 * The `json` format: `{"v":1,"f":"j","e":[...]}` in printable ASCII only.
 * Signed, it also carries `"t"` (milliseconds since the epoch) and ends with
 * `,"s":"<HMAC-SHA256 of the text before it, closed with }>"}`.
 */

const SIGNATURE_TAIL = /,"s":"([A-Za-z0-9_-]{43})"\}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function toJson(
  encoded: EncodedEntries,
  key: SigningKey | undefined,
  now: () => number,
  limits: Limits,
): string {
  const entries = `"e":[${encoded.text}]`;
  let text: string;
  if (key === undefined) {
    text = `{"v":${FORMAT_VERSION},"f":"j",${entries}}`;
  } else {
    const body = `{"v":${FORMAT_VERSION},"f":"j","t":${now()},${entries}}`;
    text = `${body.slice(0, -1)},"s":"${signatureOf(body, key)}"}`;
  }
  if (text.length > limits.maxBytes) {
    throw serializeError(
      encoded.largest ?? '',
      `(the largest entry) makes the json text ${text.length} bytes, larger than maxBytes (${limits.maxBytes})`,
    );
  }
  return text;
}

export interface JsonReadOptions {
  keys: readonly SigningKey[];
  maxAge: number | undefined;
  now: () => number;
}

export function fromJson(text: string, limits: Limits, options: JsonReadOptions): IncomingEntry[] {
  if (text.length > limits.maxBytes) {
    throw malformed(`it is ${text.length} bytes, larger than maxBytes (${limits.maxBytes})`);
  }
  if (!PRINTABLE_ASCII.test(text)) throw malformed('it is not printable ASCII');
  const tail = SIGNATURE_TAIL.exec(text);
  const body = tail === null ? text : `${text.slice(0, tail.index)}}`;
  if (options.keys.length > 0) {
    if (tail === null) throw malformed('it is not signed, and a key is required');
    if (!verifies(body, tail[1] as string, options.keys)) {
      throw malformed('its signature does not match any of the keys');
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    throw malformed('it is not valid JSON', cause);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw malformed('it is not a JSON object');
  }
  const { v, f, t, e } = parsed as Partial<Record<string, unknown>>;
  checkVersion(v);
  if (f !== 'j') throw malformed(`its format is ${JSON.stringify(f) ?? 'missing'}, not json`);
  if (tail !== null && (typeof t !== 'number' || !Number.isFinite(t))) {
    throw malformed('it is signed but carries no time');
  }
  if (options.maxAge !== undefined && options.now() - (t as number) > options.maxAge) {
    throw malformed(`it is older than maxAge (${options.maxAge} ms)`);
  }
  // The text length was checked against maxBytes: only depth is left to check.
  return readEntries(e, limits, 'depth');
}
