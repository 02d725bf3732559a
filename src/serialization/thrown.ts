import { describe } from '../context/internal.js';
import { cannotDeserialize } from './errors.js';
import { DecodeBudget, Unreadable } from './read/budget.js';
import { decodeRecords } from './read/records.js';
import { Refusal, recordListBytes, walkValue } from './walk.js';
import { THROWN_LIMITS, THROWN_MARK, THROWN_VERSION } from './wire.js';
import { encodeRecords, type WireRecord } from './write/records.js';

/**
 * The thrown-value codec: what a task or a comlink call throws crosses back
 * as records, so the caller gets it whole (name, message, stack, cause, code
 * and other own primitive properties, its class restored if built-in or this
 * package's). The records come from another thread, which is not trusted:
 * decoding them is bounded like any snapshot's.
 */
export interface ThrownRecords {
  readonly [THROWN_MARK]: typeof THROWN_VERSION;
  readonly r: readonly WireRecord[];
}

export function isThrownRecords(value: unknown): value is ThrownRecords {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)[THROWN_MARK] === THROWN_VERSION
  );
}

/** What cannot be carried as it is is reduced to an Error that keeps what can. */
export function encodeThrown(thrown: unknown): ThrownRecords {
  let carried = thrown;
  try {
    walkValue(thrown, THROWN_LIMITS, 'clone', false);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    carried = summaryOf(thrown);
  }
  return { [THROWN_MARK]: THROWN_VERSION, r: encodeRecords(carried) };
}

function summaryOf(thrown: unknown): Error {
  if (!(thrown instanceof Error)) return new Error(`The task threw ${describe(thrown)}`);
  const summary = new Error(String(thrown.message));
  const hidden = (key: string, value: unknown) =>
    Object.defineProperty(summary, key, { value, configurable: true, writable: true });
  hidden('name', String(thrown.name));
  hidden('stack', thrown.stack);
  for (const key of Object.keys(thrown)) {
    const value = (thrown as unknown as Record<string, unknown>)[key];
    const type = typeof value;
    if (value === null || (type !== 'object' && type !== 'function' && type !== 'symbol')) {
      (summary as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return summary;
}

/**
 * The value a peer threw, rebuilt. Malformed or oversized records are a
 * `ContextSerializationError` `ERR_CONTEXT_DESERIALIZE`, for the one call that
 * received them.
 */
export function decodeThrown(message: ThrownRecords): unknown {
  try {
    const budget = new DecodeBudget(THROWN_LIMITS.maxBytes);
    budget.read(recordListBytes(message.r, THROWN_LIMITS));
    return decodeRecords(message.r, THROWN_LIMITS, budget);
  } catch (error) {
    if (error instanceof Unreadable || error instanceof Refusal) {
      throw cannotDeserialize(`the value thrown by the other side is malformed: ${error.message}`);
    }
    throw error;
  }
}
