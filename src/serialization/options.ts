import type { KeyObject } from 'node:crypto';
import { invalidArgType, invalidArgValue, outOfRange } from '../context/internal.js';

/** `structured`: a plain object for postMessage. `json`: a printable-ASCII string. */
export type SnapshotFormat = 'structured' | 'json';

/** An HMAC-SHA256 key: a string, bytes, or a secret KeyObject. */
export type SigningKey = string | Uint8Array | KeyObject;

/** Size and nesting limits; both sides enforce them. */
export interface SnapshotLimits {
  /**
   * Largest snapshot accepted, in bytes: the text length for `json`, an
   * estimate of the encoded size (about the JSON length of the data) for
   * `structured`.
   */
  maxBytes?: number;
  /** Deepest nesting of objects, arrays, maps, sets and errors in one value. */
  maxDepth?: number;
}

export interface SerializeOptions extends SnapshotLimits {
  /** Default `structured`. */
  format?: SnapshotFormat;
  /** Signs a `json` snapshot (HMAC-SHA256) and stamps it with the time. */
  key?: SigningKey;
}

export interface DeserializeOptions extends SnapshotLimits {
  /** Required signature key; a list accepts any of them (key rotation). */
  key?: SigningKey | readonly SigningKey[];
  /** Refuses signed snapshots older than this many milliseconds (needs `key`). */
  maxAge?: number;
}

/**
 * Default limits. `json` snapshots usually travel in an HTTP header, and Node
 * refuses requests whose headers together exceed 16 KiB by default: a larger
 * context could not arrive that way anyway.
 */
export const DEFAULT_LIMITS: Readonly<Record<SnapshotFormat, Required<SnapshotLimits>>> = {
  json: { maxBytes: 16 * 1024, maxDepth: 64 },
  structured: { maxBytes: 4 * 1024 * 1024, maxDepth: 64 },
};

export type Limits = Required<SnapshotLimits>;

function checkObject(options: unknown): Record<string, unknown> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw invalidArgType('options', 'an object', options);
  }
  return options as Record<string, unknown>;
}

function checkLimit(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidArgType(`options.${name}`, 'of type number', value);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw outOfRange(`options.${name}`, 'a positive integer', value);
  }
  return value;
}

export function limitsFor(format: SnapshotFormat, options: SnapshotLimits): Limits {
  const defaults = DEFAULT_LIMITS[format];
  return {
    maxBytes: checkLimit('maxBytes', options.maxBytes, defaults.maxBytes),
    maxDepth: checkLimit('maxDepth', options.maxDepth, defaults.maxDepth),
  };
}

function isSigningKey(key: unknown): key is SigningKey {
  if (typeof key === 'string') return key.length > 0;
  if (key instanceof Uint8Array) return key.byteLength > 0;
  return typeof key === 'object' && key !== null && (key as { type?: unknown }).type === 'secret';
}

function checkKey(name: string, key: unknown): SigningKey {
  if (!isSigningKey(key)) {
    throw invalidArgType(name, 'a non-empty string, Buffer, Uint8Array or secret KeyObject', key);
  }
  return key;
}

export interface CheckedSerializeOptions {
  format: SnapshotFormat;
  key: SigningKey | undefined;
  limits: Limits;
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
  keys: readonly SigningKey[];
  maxAge: number | undefined;
  given: SnapshotLimits;
}

export function checkDeserializeOptions(options: unknown): CheckedDeserializeOptions {
  const given = checkObject(options);
  const { key, maxAge } = given;
  const keys =
    key === undefined
      ? []
      : Array.isArray(key)
        ? key.map((k, i) => checkKey(`options.key[${i}]`, k))
        : [checkKey('options.key', key)];
  if (Array.isArray(key) && keys.length === 0) {
    throw invalidArgValue('options.key', 'must hold at least one key', key);
  }
  if (maxAge !== undefined) {
    if (typeof maxAge !== 'number')
      throw invalidArgType('options.maxAge', 'of type number', maxAge);
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
  // Validate the limits now; they are applied per format once the input is read.
  limitsFor('structured', given);
  return { keys, maxAge: maxAge as number | undefined, given };
}
