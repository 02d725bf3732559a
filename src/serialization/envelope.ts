import { ContextError, ContextSerializationError, LookupError } from '../context/index.js';
import { CODED, FROZEN, RECORDS } from './encode-value.js';
import type { IncomingEntry } from './entries.js';
import { deepFreeze } from './frozen.js';
import { inspectValue, Refusal } from './inspect.js';
import type { Limits } from './options.js';
import { BUILT_IN_ERRORS, decodeRecords, MalformedRecords, recordsWalkLimits } from './records.js';

/**
 * Format versions. A reader accepts its own version and the one before it, and
 * refuses newer ones: a sender upgraded first must not be misread.
 */
export const FORMAT_VERSION = 1;
export const OLDEST_READABLE_VERSION = Math.max(1, FORMAT_VERSION - 1);

/** Thrown for input that cannot be trusted or read. */
export function malformed(reason: string, cause?: unknown): ContextSerializationError {
  return new ContextSerializationError(
    'ERR_CONTEXT_DESERIALIZE',
    `Cannot deserialize the context: ${reason}`,
    cause === undefined ? {} : { cause },
  );
}

export function checkVersion(version: unknown): void {
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    throw malformed('it carries no format version');
  }
  if (version > FORMAT_VERSION || version < OLDEST_READABLE_VERSION) {
    throw malformed(
      `its format version ${version} is not readable here (this reader reads versions ` +
        `${OLDEST_READABLE_VERSION} to ${FORMAT_VERSION}); upgrade contextvars on this side`,
    );
  }
}

/** Error classes restored by name: built-ins and this package's own. */
export const errorClasses = new Map(BUILT_IN_ERRORS);
for (const ErrorClass of [LookupError, ContextError, ContextSerializationError]) {
  errorClasses.set(ErrorClass.name, ErrorClass);
}

/** Lets another layer of this package restore its own error class by name. */
export function restoreErrorsAs(
  name: string,
  ErrorClass: abstract new (...args: never[]) => Error,
): void {
  errorClasses.set(name, ErrorClass);
}

/**
 * How much `readEntries` checks of each payload: `size-and-depth` measures it
 * as the sender did (structured); `depth` only, when the size was checked
 * already (json's text length); `none` on a channel only this package writes
 * to, whose sender enforced the limits (a ContextPool's own workers).
 */
export type PayloadCheck = 'size-and-depth' | 'depth' | 'none';

/** Reads and checks the flat `name, flags, payload` entry list of either format. */
export function readEntries(list: unknown, limits: Limits, check: PayloadCheck): IncomingEntry[] {
  const walkLimits = check === 'depth' ? { ...limits, maxBytes: Number.MAX_SAFE_INTEGER } : limits;
  if (!Array.isArray(list) || list.length % 3 !== 0) {
    throw malformed('its entries are not a list of name, flags, payload');
  }
  const incoming: IncomingEntry[] = [];
  let bytes = 2;
  for (let i = 0; i < list.length; i += 3) {
    const name: unknown = list[i];
    const flags: unknown = list[i + 1];
    const payload: unknown = list[i + 2];
    if (typeof name !== 'string') throw malformed(`entry ${i / 3} has no name`);
    if (!Number.isInteger(flags) || (flags as number) < 0 || (flags as number) > 7) {
      throw malformed(`entry '${name}' has invalid flags`);
    }
    let value: unknown;
    try {
      if (check !== 'none') {
        // Bounds the work on the payload as it arrived, records included.
        const asRecords = ((flags as number) & RECORDS) !== 0;
        bytes +=
          name.length +
          6 +
          inspectValue(payload, asRecords ? recordsWalkLimits(walkLimits) : walkLimits, false)
            .bytes;
        if (bytes > walkLimits.maxBytes) {
          throw new Refusal(`is larger than maxBytes (${limits.maxBytes})`);
        }
      }
      value = (flags as number) & RECORDS ? decodeRecords(payload, limits, errorClasses) : payload;
    } catch (error) {
      if (error instanceof Refusal || error instanceof MalformedRecords) {
        const where = error instanceof Refusal && error.path ? ` at ${error.path}` : '';
        throw malformed(
          `the value of '${name}'${where} ${error instanceof Refusal ? error.reason : `is malformed: ${error.message}`}`,
        );
      }
      throw error;
    }
    if ((flags as number) & FROZEN) deepFreeze(value);
    incoming.push({ name, value, coded: ((flags as number) & CODED) !== 0 });
  }
  return incoming;
}
