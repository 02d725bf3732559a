import type { Context } from '../../context/index.js';
import { invalidArgType, invalidArgValue } from '../../context/internal.js';
import type { SigningKey } from '../../serialization/index.js';
import {
  boundUse,
  refuseUndefinedKey,
  snapshotReader,
  snapshotWriter,
} from '../../serialization/internal.js';

/** What every pg-boss signature is for; the `use` option narrows it. */
const USE = 'pg-boss';

/** How the snapshots jobs carry are signed and checked. */
export interface ContextJobsOptions {
  /**
   * Signature key: snapshots are signed with it when jobs are created, and
   * required when jobs run (unsigned or forged ones are refused). A list
   * rotates keys: the first signs, any of them verifies.
   */
  key?: SigningKey | readonly SigningKey[];
  /**
   * Refuses a snapshot signed more than this many milliseconds before the
   * attempt that reads it. It counts from the call that created the job (or
   * the `schedule()` call, for scheduled jobs): delays, retries and waiting
   * all count. Needs `key`.
   */
  maxAge?: number;
  /**
   * Narrows what the signature is for: snapshots are signed for
   * `pg-boss:<use>` instead of `pg-boss`, and only read back under the same
   * use (per queue, per tenant...). Needs `key`.
   */
  use?: string;
  /** Refuses jobs that carry no snapshot at all (a stripped context). Needs `key`. */
  requireSnapshot?: boolean;
}

/** The options, checked once where they are given. */
export interface CheckedJobsOptions {
  /** The json snapshot of the calling code's context, signed with the first key if any. */
  readonly write: () => string;
  /** Reads a snapshot a job carries, with every key, maxAge and use. */
  readonly read: (text: string) => Context;
  readonly requireSnapshot: boolean;
}

function needsKey(options: ContextJobsOptions, name: 'maxAge' | 'use' | 'requireSnapshot'): void {
  if (options[name] === undefined || options.key !== undefined) return;
  throw invalidArgValue(
    `options.${name}`,
    'needs options.key: only signed snapshots can be trusted this far',
    options[name],
  );
}

/** Checks `options` (named `argument` in errors); the serialization layer checks key and maxAge. */
export function checkJobsOptions(options: unknown, argument = 'options'): CheckedJobsOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw invalidArgType(argument, 'an object', options);
  }
  refuseUndefinedKey(options as Record<string, unknown>, `${argument}.key`);
  const given = options as ContextJobsOptions;
  for (const name of ['maxAge', 'use', 'requireSnapshot'] as const) needsKey(given, name);
  const { key, maxAge, requireSnapshot = false } = given;
  if (typeof requireSnapshot !== 'boolean') {
    throw invalidArgType(`${argument}.requireSnapshot`, 'of type boolean', requireSnapshot);
  }
  const signing = key === undefined ? {} : { use: boundUse(USE, given.use, `${argument}.use`) };
  const signingKey = Array.isArray(key) ? (key as readonly SigningKey[])[0] : key;
  const write = snapshotWriter({
    format: 'json',
    ...signing,
    ...(signingKey !== undefined && { key: signingKey as SigningKey }),
  }) as () => string;
  const read = snapshotReader({
    ...signing,
    ...(key !== undefined && { key }),
    ...(maxAge !== undefined && { maxAge }),
  });
  return { write, read, requireSnapshot };
}
