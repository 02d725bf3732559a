import { cannotDeserialize } from '../errors.js';
import type { SigningKey } from '../options.js';
import { verifies } from '../signing.js';
import {
  BOUND_USE_VERSION,
  FORMAT_TAG,
  FORMAT_VERSION,
  isUse,
  JSON_SNAPSHOT_START,
  type Limits,
  MAX_USE_LENGTH,
  OLDEST_READABLE_VERSION,
} from '../wire.js';
import { DecodeBudget } from './budget.js';
import { type IncomingEntry, readEntries } from './entries.js';

function checkVersion(version: unknown): void {
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    throw cannotDeserialize('it carries no format version');
  }
  if (version > FORMAT_VERSION || version < OLDEST_READABLE_VERSION) {
    throw cannotDeserialize(
      `its format version ${version} is not readable here (this reader reads versions ` +
        `${OLDEST_READABLE_VERSION} to ${FORMAT_VERSION}); upgrade contextvars on this side`,
    );
  }
}

function checkFormat(tag: unknown, expected: string, name: string): void {
  if (tag !== expected) {
    throw cannotDeserialize(`its format is ${JSON.stringify(tag) ?? 'missing'}, not ${name}`);
  }
}

/** The entries of a `structured` snapshot, measured and checked against `limits`. */
export function fromStructured(input: object, limits: Limits): IncomingEntry[] {
  const { v, f, e } = input as Partial<Record<string, unknown>>;
  checkVersion(v);
  checkFormat(f, FORMAT_TAG.structured, 'structured');
  return readEntries(e, limits, 'size-and-depth');
}

const SIGNATURE_TAIL = /,"s":"([A-Za-z0-9_-]{43})"\}$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export interface JsonReadOptions {
  readonly keys: readonly SigningKey[];
  readonly maxAge: number | undefined;
  readonly use: string | undefined;
  readonly acceptUnbound: boolean;
}

/**
 * What a signature is for, checked once it verified: a signed version-1
 * text names no use and passes only with `acceptUnbound`; a later one must
 * name exactly the use the reader expects (none when it expects none).
 */
function checkUse(version: number, use: unknown, options: JsonReadOptions): void {
  if (version < BOUND_USE_VERSION) {
    if (options.acceptUnbound) return;
    throw cannotDeserialize(
      `it is signed in format version ${version}, which binds the signature to no use: a ` +
        'reader with a key accepts it only with acceptUnbound: true (for a rolling upgrade)',
    );
  }
  if (use === options.use) return;
  throw cannotDeserialize(
    options.use === undefined
      ? 'it was signed for a use, and this reader expects a snapshot signed for none (options.use)'
      : `it was signed for another use, and this reader expects use ${JSON.stringify(options.use)}`,
  );
}

/** The entries of a `json` snapshot (see `toJson`), its signature, use and age checked when keys are given. */
export function fromJson(text: string, limits: Limits, options: JsonReadOptions): IncomingEntry[] {
  if (text.length > limits.maxBytes) {
    throw cannotDeserialize(
      `it is ${text.length} bytes, larger than maxBytes (${limits.maxBytes})`,
    );
  }
  if (!PRINTABLE_ASCII.test(text)) throw cannotDeserialize('it is not printable ASCII');
  const tail = SIGNATURE_TAIL.exec(text);
  const body = tail === null ? text : `${text.slice(0, tail.index)}}`;
  if (options.keys.length > 0) {
    if (tail === null) {
      // Say what it is: a mangled header reads differently from an unsigned snapshot.
      throw cannotDeserialize(
        text.startsWith(JSON_SNAPSHOT_START)
          ? 'it is not signed, and a key is required'
          : 'it is not a json snapshot (nor signed, and a key is required)',
      );
    }
    if (!verifies(body, tail[1] as string, options.keys)) {
      throw cannotDeserialize('its signature does not match any of the keys');
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (cause) {
    throw cannotDeserialize('it is not valid JSON', { cause });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw cannotDeserialize('it is not a JSON object');
  }
  const { v, f, t, u, e } = parsed as Partial<Record<string, unknown>>;
  checkVersion(v);
  checkFormat(f, FORMAT_TAG.json, 'json');
  if (tail !== null && (typeof t !== 'number' || !Number.isFinite(t))) {
    throw cannotDeserialize('it is signed but carries no time');
  }
  if (u !== undefined && (v as number) >= BOUND_USE_VERSION && !isUse(u)) {
    throw cannotDeserialize(`its use is not 1 to ${MAX_USE_LENGTH} printable ASCII characters`);
  }
  if (options.keys.length > 0) checkUse(v as number, u, options);
  if (options.maxAge !== undefined) {
    const age = Date.now() - (t as number);
    if (age > options.maxAge) {
      throw cannotDeserialize(`it is older than maxAge (${options.maxAge} ms)`);
    }
    if (-age > options.maxAge) {
      throw cannotDeserialize(
        `it is stamped more than maxAge (${options.maxAge} ms) in the future`,
      );
    }
  }
  // The text's length bounds everything in it: only nesting is left to check.
  const budget = new DecodeBudget(limits.maxBytes);
  budget.read(text.length);
  return readEntries(e, limits, 'depth', budget);
}
