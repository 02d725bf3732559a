import { describe } from '../context/internal.js';
import { cannotDeserialize } from './errors.js';
import { DecodeBudget, Unreadable } from './read/budget.js';
import { decodeRecords } from './read/records.js';
import { isCarriedErrorProperty, Refusal, recordListBytes, walkValue } from './walk.js';
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

/**
 * The thrown value as records. What cannot be carried as it is is reduced to
 * an Error that keeps what can; a value that cannot even be read (getters or
 * Proxy traps that throw) becomes an Error saying so. Never throws: a throw
 * from here would reach piscina unencoded and end the worker.
 */
export function encodeThrown(thrown: unknown): ThrownRecords {
  return { [THROWN_MARK]: THROWN_VERSION, r: recordsOf(thrown) };
}

function recordsOf(thrown: unknown): WireRecord[] {
  try {
    walkValue(thrown, THROWN_LIMITS, 'clone', false);
    return encodeRecords(thrown);
  } catch {
    // Too large, not cloneable, or unreadable: keep what can be read.
  }
  try {
    return encodeRecords(summaryOf(thrown));
  } catch {
    return encodeRecords(new Error('The task threw a value that could not be read'));
  }
}

function summaryOf(thrown: unknown): Error {
  if (!(thrown instanceof Error)) return new Error(`The task threw ${describe(thrown)}`);
  const summary = new Error(
    readable(() => String(thrown.message)) ?? '(a message that could not be read)',
  );
  const hidden = (key: string, value: unknown) =>
    Object.defineProperty(summary, key, { value, configurable: true, writable: true });
  hidden('name', readable(() => String(thrown.name)) ?? 'Error');
  const stack = readable(() => thrown.stack);
  hidden('stack', typeof stack === 'string' ? stack : undefined);
  for (const key of Object.keys(thrown)) {
    // A field whose getter throws stays behind; the others come along.
    const value = readable(() => (thrown as unknown as Record<string, unknown>)[key]);
    if (isCarriedErrorProperty(key, value)) {
      (summary as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return summary;
}

/** What `read` returns, or undefined if it throws. */
function readable<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
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
