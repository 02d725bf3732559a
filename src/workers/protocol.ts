import { describe } from '../context/internal.js';
import {
  decodeRecords,
  encodeRecords,
  errorClasses,
  inspectValue,
  type Limits,
  Refusal,
  type WireRecord,
} from '../serialization/internal.js';
import { ContextPoolError } from './errors.js';

/**
 * The messages between ContextPool and its worker entry. A task travels next
 * to the user's payload, never inside it; piscina carries the message.
 */
export const PROTOCOL = 1;

export interface TaskMessage {
  /** Marks the message as ContextPool's, with the protocol version. */
  readonly cv: number;
  /** The user's module, as a URL. */
  readonly m: string;
  /** The export that handles the task. */
  readonly n: string;
  /** The snapshot's entries (`name, flags, payload` ...); null for an empty context. */
  readonly e: readonly unknown[] | null;
  /** The user's task. */
  readonly t: unknown;
}

/** What the entry throws when a task fails: the thrown value as records. */
export interface ThrownMessage {
  readonly cvThrown: number;
  readonly r: WireRecord[];
}

/** Results and thrown values are the task's own business: only the walk's safety limits apply. */
const UNLIMITED: Limits = { maxBytes: Number.MAX_SAFE_INTEGER, maxDepth: 1000 };

export function isTaskMessage(value: unknown): value is TaskMessage {
  return typeof value === 'object' && value !== null && (value as { cv?: unknown }).cv === PROTOCOL;
}

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

const TRANSFERABLE = Symbol.for('Piscina.transferable');
const VALUE = Symbol.for('Piscina.valueOf');

/** A value wrapped by `Piscina.move()`: its payload and the objects to transfer. */
export function unwrapMovable(
  value: unknown,
): { value: unknown; transferList: readonly unknown[] } | undefined {
  if (
    typeof value !== 'object' ||
    value === null ||
    !(TRANSFERABLE in value) ||
    !(VALUE in value)
  ) {
    return undefined;
  }
  const record = value as Record<symbol, unknown>;
  const transfer = record[TRANSFERABLE];
  return { value: record[VALUE], transferList: Array.isArray(transfer) ? transfer : [transfer] };
}

/**
 * Refuses, before piscina posts it, a result that structured clone would
 * reject: posting it would crash the worker and every task on it.
 */
export function checkResult(result: unknown): void {
  if (typeof result !== 'object' || result === null) {
    if (typeof result !== 'function' && typeof result !== 'symbol') return;
  }
  const movable = unwrapMovable(result);
  try {
    inspectValue(movable === undefined ? result : movable.value, UNLIMITED, false);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    const where = error.path ? ` at ${error.path}` : '';
    throw new ContextPoolError(
      'ERR_TASK_RESULT',
      `The task's result cannot be sent back to the caller: the value${where} ${error.reason}`,
    );
  }
}
