import { cannotDeserialize } from '../errors.js';
import { deepFreeze } from '../frozen.js';
import { Refusal, recordListBytes, walkValue } from '../walk.js';
import {
  ENTRY_FIELDS,
  ENTRY_FLAG,
  ENTRY_FLAGS_ALL,
  entryBytes,
  LIST_OVERHEAD,
  type Limits,
  primitiveBytes,
} from '../wire.js';
import { DecodeBudget, Unreadable } from './budget.js';
import { decodeRecords } from './records.js';

/** An entry as read from a snapshot: the value decoded from the wire, not yet by a codec. */
export interface IncomingEntry {
  readonly name: string;
  readonly value: unknown;
  readonly coded: boolean;
}

/**
 * How much `readEntries` measures of each payload before decoding it:
 * - `size-and-depth`: all of it, as the sender did (a structured snapshot);
 * - `depth`: nesting only, when the caller measured the size already (a json
 *   text's length) and charged the budget with it;
 * - `none`: nothing, on a channel only this package writes to, whose sender
 *   enforced the limits (a ContextPool's own workers hearing from the pool).
 */
export type PayloadCheck = 'size-and-depth' | 'depth' | 'none';

/**
 * Reads and checks the flat `name, flags, payload` entry list of either
 * format. `budget` bounds what decoding the entries' records may build: a
 * `depth` read is given one charged with the input's size; a `size-and-depth`
 * read charges its own as it measures each payload; a `none` read trusts its
 * sender up to maxBytes.
 */
export function readEntries(
  list: unknown,
  limits: Limits,
  check: PayloadCheck,
  budget?: DecodeBudget,
): IncomingEntry[] {
  if (!Array.isArray(list) || list.length % ENTRY_FIELDS !== 0) {
    throw cannotDeserialize('its entries are not a list of name, flags, payload');
  }
  const incoming: IncomingEntry[] = [];
  let bytes = LIST_OVERHEAD;
  for (let i = 0; i < list.length; i += ENTRY_FIELDS) {
    const name: unknown = list[i];
    const flags: unknown = list[i + 1];
    const payload: unknown = list[i + 2];
    if (typeof name !== 'string') throw cannotDeserialize(`entry ${i / ENTRY_FIELDS} has no name`);
    if (!Number.isInteger(flags) || ((flags as number) & ~ENTRY_FLAGS_ALL) !== 0) {
      throw cannotDeserialize(`entry '${name}' has invalid flags`, { varName: name });
    }
    const asRecords = ((flags as number) & ENTRY_FLAG.records) !== 0;
    let value: unknown;
    try {
      if (check !== 'none') {
        const measureLimits =
          check === 'depth'
            ? { maxBytes: Number.MAX_SAFE_INTEGER, maxDepth: limits.maxDepth }
            : limits;
        const measured = asRecords
          ? recordListBytes(payload, measureLimits)
          : isCarriedPrimitive(payload)
            ? primitiveBytes(payload)
            : walkValue(payload, measureLimits, 'arrived', false).bytes;
        if (check === 'size-and-depth') {
          bytes += entryBytes(name, measured);
          if (bytes > limits.maxBytes) {
            throw new Refusal(`makes the snapshot larger than maxBytes (${limits.maxBytes})`);
          }
          budget ??= new DecodeBudget(limits.maxBytes);
          budget.read(measured);
        }
      }
      if (asRecords) {
        budget ??= check === 'none' ? fullBudget(limits) : new DecodeBudget(limits.maxBytes);
        value = decodeRecords(payload, limits, budget);
      } else {
        value = payload;
      }
    } catch (error) {
      if (error instanceof Refusal) {
        throw cannotDeserialize(`the value of '${name}'${error.place} ${error.reason}`, {
          varName: name,
        });
      }
      if (error instanceof Unreadable) {
        throw cannotDeserialize(`the value of '${name}' is malformed: ${error.message}`, {
          varName: name,
        });
      }
      throw error;
    }
    if ((flags as number) & ENTRY_FLAG.frozen) deepFreeze(value);
    incoming.push({ name, value, coded: ((flags as number) & ENTRY_FLAG.coded) !== 0 });
  }
  return incoming;
}

/** Most payloads: nothing to walk (a function or symbol is left to the walk, which refuses it). */
function isCarriedPrimitive(payload: unknown): boolean {
  const type = typeof payload;
  return payload === null || (type !== 'object' && type !== 'function' && type !== 'symbol');
}

/** A budget of the whole of maxBytes, for input its sender measured. */
function fullBudget(limits: Limits): DecodeBudget {
  const budget = new DecodeBudget(limits.maxBytes);
  budget.read(limits.maxBytes);
  return budget;
}
