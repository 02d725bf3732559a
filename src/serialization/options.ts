import type { KeyObject } from 'node:crypto';
import { types } from 'node:util';
import { invalidArgType, invalidArgValue, outOfRange } from '../context/internal.js';
import { DEFAULT_LIMITS, type Limits, MAX_DEPTH_LIMIT } from './wire.js';

/** `structured`: a plain object for postMessage. `json`: a printable-ASCII string. */
export type SnapshotFormat = 'structured' | 'json';

/** An HMAC-SHA256 key: a non-empty string, bytes, or a secret KeyObject. */
export type SigningKey = string | Uint8Array | KeyObject;

/** Size and nesting limits; both sides enforce them. */
export interface SnapshotLimits {
  /**
   * Largest snapshot accepted, in bytes: the text length for `json`, an
   * estimate of the encoded size (about the JSON length of the data) for
   * `structured`.
   */
  maxBytes?: number;
  /** Deepest nesting of objects, arrays, maps, sets and errors in one value (at most 1,000). */
  maxDepth?: number;
}

export interface SerializeOptions extends SnapshotLimits {
  /** Default `structured`. */
  format?: SnapshotFormat;
  /** Signs a `json` snapshot (HMAC-SHA256) and stamps it with the time. */
  key?: SigningKey;
  /** What the signature is for (1-128 printable ASCII characters, inside the signed text). */
  use?: string;
}

export interface DeserializeOptions extends SnapshotLimits {
  /** Required signature key; a list accepts any of them (key rotation). */
  key?: SigningKey | readonly SigningKey[];
  /** Refuses signed snapshots older than this many milliseconds (needs `key`). */
  maxAge?: number;
  /** The use a signed snapshot must have been signed for. */
  use?: string;
  /** Accepts signed snapshots of the previous format version, which name no use (a rolling upgrade). */
  acceptUnbound?: boolean;
}

function checkObject(options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw invalidArgType('options', 'an object', options);
  }
  refuseUndefinedKey(options as Record<string, unknown>, 'options.key');
  return options as Record<string, unknown>;
}

/**
 * `key: undefined` given outright is almost always a secret that is not set
 * (`key: process.env.CONTEXT_KEY`): reading or writing unsigned snapshots
 * then, without a word, would turn signing off. Leaving the option out says
 * unsigned on purpose.
 */
export function refuseUndefinedKey(options: Record<string, unknown>, argument: string): void {
  if ('key' in options && options.key === undefined) {
    throw invalidArgValue(
      argument,
      'is undefined (an unset environment variable?): give a key, or leave the option out ' +
        'for unsigned snapshots',
      undefined,
    );
  }
}

function checkLimit(name: string, value: unknown, fallback: number, most: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(`options.${name}`, 'of type number', value);
  if (!Number.isSafeInteger(value) || value < 1 || value > most) {
    throw outOfRange(`options.${name}`, `an integer from 1 to ${most}`, value);
  }
  return value;
}

export function limitsFor(format: SnapshotFormat, options: SnapshotLimits): Limits {
  const defaults = DEFAULT_LIMITS[format];
  return {
    maxBytes: checkLimit('maxBytes', options.maxBytes, defaults.maxBytes, Number.MAX_SAFE_INTEGER),
    maxDepth: checkLimit('maxDepth', options.maxDepth, defaults.maxDepth, MAX_DEPTH_LIMIT),
  };
}

/** An empty key would make every MAC computable by anyone: refused in every form. */
function isSigningKey(key: unknown): key is SigningKey {
  if (typeof key === 'string') return key.length > 0;
  if (key instanceof Uint8Array) return key.byteLength > 0;
  return (
    types.isKeyObject(key) &&
    (key as KeyObject).type === 'secret' &&
    ((key as KeyObject).symmetricKeySize ?? 0) > 0
  );
}

function checkKey(name: string, key: unknown): SigningKey {
  if (key === '' || (key instanceof Uint8Array && key.byteLength === 0)) {
    throw invalidArgValue(name, 'is empty: an empty key would let anyone sign', key);
  }
  if (!isSigningKey(key)) {
    throw invalidArgType(
      name,
      'a non-empty string, Buffer, Uint8Array or secret KeyObject (createSecretKey)',
      key,
    );
  }
  return key;
}

export interface CheckedSerializeOptions {
  readonly format: SnapshotFormat;
  readonly key: SigningKey | undefined;
  readonly limits: Limits;
}

export function checkSerializeOptions(options: unknown): CheckedSerializeOptions {
  const given = checkObject(options);
  const format = given.format ?? 'structured';
  if (format !== 'structured' && format !== 'json') {
    throw invalidArgValue('options.format', "must be 'structured' or 'json'", format);
  }
  let key: SigningKey | undefined;
  if (given.key !== undefined) {
    if (format === 'structured') {
      throw invalidArgValue(
        'options.key',
        "signs json snapshots only: threads of one process need no signature (use format: 'json')",
        given.key,
      );
    }
    key = checkKey('options.key', given.key);
  }
  return { format, key, limits: limitsFor(format, given) };
}

export interface CheckedDeserializeOptions {
  readonly keys: readonly SigningKey[];
  readonly maxAge: number | undefined;
  /** The limits for each format, applied once the input's format is known. */
  readonly limits: Readonly<Record<SnapshotFormat, Limits>>;
}

/** One key, or a non-empty list of them with no holes, each checked. */
function checkKeys(key: unknown): SigningKey[] {
  if (key === undefined) return [];
  if (!Array.isArray(key)) return [checkKey('options.key', key)];
  if (key.length === 0) throw invalidArgValue('options.key', 'must hold at least one key', key);
  // An index loop, not map: map skips holes, and a hole is no key.
  const keys: SigningKey[] = [];
  for (let i = 0; i < key.length; i++) keys.push(checkKey(`options.key[${i}]`, key[i]));
  return keys;
}

export function checkDeserializeOptions(options: unknown): CheckedDeserializeOptions {
  const given = checkObject(options);
  const keys = checkKeys(given.key);
  const { maxAge } = given;
  if (maxAge !== undefined) {
    if (typeof maxAge !== 'number') {
      throw invalidArgType('options.maxAge', 'of type number', maxAge);
    }
    if (!(maxAge >= 0) || !Number.isFinite(maxAge)) {
      throw outOfRange('options.maxAge', 'a finite number of milliseconds >= 0', maxAge);
    }
    if (keys.length === 0) {
      throw invalidArgValue(
        'options.maxAge',
        'needs options.key: only signed snapshots carry a trustworthy time',
        maxAge,
      );
    }
  }
  const limits = { json: limitsFor('json', given), structured: limitsFor('structured', given) };
  return { keys, maxAge: maxAge as number | undefined, limits };
}
