import type { KeyObject } from 'node:crypto';
import { types } from 'node:util';
import { invalidArgType, invalidArgValue, outOfRange } from '../context/internal.js';
import { DEFAULT_LIMITS, isUse, type Limits, MAX_DEPTH_LIMIT, MAX_USE_LENGTH } from './wire.js';

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
  /**
   * What the signature is for (1 to 128 printable ASCII characters, needs
   * `key`): carried inside the signed text, so the snapshot verifies only
   * for a reader that expects this very use.
   */
  use?: string;
}

export interface DeserializeOptions extends SnapshotLimits {
  /** Required signature key; a list accepts any of them (key rotation). */
  key?: SigningKey | readonly SigningKey[];
  /**
   * Refuses signed snapshots older than this many milliseconds, or stamped
   * more than this far in the future (needs `key`).
   */
  maxAge?: number;
  /**
   * The use the snapshot must have been signed for (needs `key`). Without
   * it, only snapshots signed with no use are accepted.
   */
  use?: string;
  /**
   * Also accept signed snapshots of format version 1, which name no use
   * (needs `key`): for a rolling upgrade, while older senders remain.
   */
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

/** A use: a string of 1 to 128 printable ASCII characters, else a coded error naming `argument`. */
function checkUse(argument: string, use: unknown): string {
  if (typeof use !== 'string') {
    throw invalidArgType(argument, 'of type string', use);
  }
  if (!isUse(use)) {
    throw invalidArgValue(
      argument,
      `must be 1 to ${MAX_USE_LENGTH} printable ASCII characters (0x20-0x7E)`,
      use,
    );
  }
  return use;
}

/**
 * The use an integration signs and reads with: its own `prefix` alone, or
 * `prefix:suffix` when the user narrowed it (per queue, per tenant...). A
 * suffix that would not make a valid use is refused naming `argument`.
 *
 * @example
 * boundUse('bullmq', options.use, 'options.use'); // 'bullmq', or 'bullmq:tenant-a'
 */
export function boundUse(prefix: string, suffix: unknown, argument: string): string {
  if (suffix === undefined) return prefix;
  if (typeof suffix !== 'string') throw invalidArgType(argument, 'of type string', suffix);
  const most = MAX_USE_LENGTH - prefix.length - 1;
  if (suffix.length === 0 || suffix.length > most || !isUse(suffix)) {
    throw invalidArgValue(
      argument,
      `must be 1 to ${most} printable ASCII characters (0x20-0x7E): it narrows the use '${prefix}'`,
      suffix,
    );
  }
  return `${prefix}:${suffix}`;
}

/** An option that means something for signed snapshots only. */
function needsKey(argument: string, value: unknown, why: string): TypeError {
  return invalidArgValue(argument, `needs options.key: ${why}`, value);
}

export interface CheckedSerializeOptions {
  readonly format: SnapshotFormat;
  readonly key: SigningKey | undefined;
  readonly use: string | undefined;
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
  let use: string | undefined;
  if (given.use !== undefined) {
    if (key === undefined) {
      throw needsKey('options.use', given.use, 'only a signed snapshot is bound to a use');
    }
    use = checkUse('options.use', given.use);
  }
  return { format, key, use, limits: limitsFor(format, given) };
}

export interface CheckedDeserializeOptions {
  readonly keys: readonly SigningKey[];
  readonly maxAge: number | undefined;
  /** The use a signed snapshot must name; undefined: it must name none. */
  readonly use: string | undefined;
  /** Signed version-1 snapshots (no use named) are accepted too. */
  readonly acceptUnbound: boolean;
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
      throw needsKey('options.maxAge', maxAge, 'only signed snapshots carry a trustworthy time');
    }
  }
  let use: string | undefined;
  if (given.use !== undefined) {
    if (keys.length === 0) {
      throw needsKey('options.use', given.use, 'only a signed snapshot is bound to a use');
    }
    use = checkUse('options.use', given.use);
  }
  const { acceptUnbound = false } = given;
  if (typeof acceptUnbound !== 'boolean') {
    throw invalidArgType('options.acceptUnbound', 'of type boolean', acceptUnbound);
  }
  if (acceptUnbound && keys.length === 0) {
    throw needsKey(
      'options.acceptUnbound',
      acceptUnbound,
      'without a key, every snapshot is read unchecked already',
    );
  }
  const limits = { json: limitsFor('json', given), structured: limitsFor('structured', given) };
  return { keys, maxAge: maxAge as number | undefined, use, acceptUnbound, limits };
}
