/**
 * The thrown-value codec of the pool and comlink, unchanged. Moved out of
 * protocol.ts (which keeps the message layout only); issue 7 moves it into
 * serialization, where it will live.
 */
import { describe } from '../context/internal.js';
import {
  decodeRecords,
  encodeRecords,
  errorClasses,
  inspectValue,
  type Limits,
  type WireRecord,
} from '../serialization/internal.js';
import { PROTOCOL } from './protocol.js';

/** What the entry throws when a task fails: the thrown value as records. */
export interface ThrownMessage {
  readonly cvThrown: number;
  readonly r: WireRecord[];
}

/** Results and thrown values are the task's own business: only the walk's safety limits apply. */
const UNLIMITED: Limits = { maxBytes: Number.MAX_SAFE_INTEGER, maxDepth: 1000 };

export function isThrownMessage(value: unknown): value is ThrownMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { cvThrown?: unknown }).cvThrown === PROTOCOL
  );
}

/**
 * Encodes what a task threw so that the caller gets it whole: name, message,
 * stack, cause, code and other own primitive properties, its class restored
 * if built-in or this package's. What cannot be carried is reduced to an
 * Error that keeps what can.
 */
export function encodeThrown(thrown: unknown): ThrownMessage {
  try {
    inspectValue(thrown, UNLIMITED, false);
    return { cvThrown: PROTOCOL, r: encodeRecords(thrown) };
  } catch {
    return { cvThrown: PROTOCOL, r: encodeRecords(summaryOf(thrown)) };
  }
}

function summaryOf(thrown: unknown): Error {
  if (!(thrown instanceof Error)) return new Error(`The task threw ${describe(thrown)}`);
  const summary = new Error(String(thrown.message));
  Object.defineProperty(summary, 'name', {
    value: String(thrown.name),
    configurable: true,
    writable: true,
  });
  Object.defineProperty(summary, 'stack', {
    value: thrown.stack,
    configurable: true,
    writable: true,
  });
  for (const key of Object.keys(thrown)) {
    const value = (thrown as unknown as Record<string, unknown>)[key];
    const type = typeof value;
    if (value === null || (type !== 'object' && type !== 'function' && type !== 'symbol')) {
      (summary as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return summary;
}

export function decodeThrown(message: ThrownMessage): unknown {
  return decodeRecords(message.r, UNLIMITED, errorClasses);
}
