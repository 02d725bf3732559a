import { type Limits, Refusal, walkValue } from '../serialization/internal.js';
import { ContextPoolError } from './errors.js';
import type { SnapshotFields } from './snapshots.js';

/**
 * The messages between ContextPool and its worker entry. A task travels next
 * to the user's payload, never inside it; piscina carries the message.
 *
 * A message is a flat array `[header, base, task, ...extras, ...changes]`:
 * structured clone spends about 280 ns on any array and 35 ns per element
 * (measured), against 0.5 us more for an object with the same fields, so it
 * holds only what this task needs. `header` is a negative integer (which marks
 * the message as ContextPool's): the pool's id for the task's (module, export)
 * pair, plus flags saying which extras follow, in this order: the module URL
 * and export name (until the worker knows the id), the base's entries, the
 * whole snapshot's entries, the removed names. The base's id (0: none) and the
 * changed entries (`name, flags, payload` ...) complete the snapshot (see
 * SnapshotFields); no base and no entries mean an empty context.
 */
export const PROTOCOL = 1;

const FLAGS = { module: 1, baseEntries: 2, entries: 4, removed: 8 } as const;
/** Handler ids stay below this, flags sit above it. */
const HANDLER_IDS = 2 ** 20;

export type TaskMessage = readonly unknown[];

export interface DecodedTask {
  readonly handler: number;
  readonly module: string | null;
  readonly exportName: string | null;
  /** null: an empty context. */
  readonly snapshot: SnapshotFields | null;
  readonly task: unknown;
}

export function encodeTask(
  handler: number,
  module: string | null,
  exportName: string | null,
  snapshot: SnapshotFields | null,
  task: unknown,
): TaskMessage {
  if (!(handler > 0 && handler < HANDLER_IDS))
    throw new RangeError(`handler id ${handler} out of range`);
  const message: unknown[] = [0, snapshot?.b ?? 0, task];
  let flags = 0;
  if (module !== null) {
    flags |= FLAGS.module;
    message.push(module, exportName);
  }
  if (snapshot?.be !== undefined) {
    flags |= FLAGS.baseEntries;
    message.push(snapshot.be);
  }
  if (snapshot?.e !== undefined) {
    flags |= FLAGS.entries;
    message.push(snapshot.e);
  }
  if (snapshot?.r !== undefined) {
    flags |= FLAGS.removed;
    message.push(snapshot.r);
  }
  for (const item of snapshot?.d ?? []) message.push(item);
  message[0] = -(handler + flags * HANDLER_IDS);
  return message;
}

/** The task a message carries, or undefined if it is not a ContextPool message. */
export function decodeTask(message: unknown): DecodedTask | undefined {
  if (!Array.isArray(message) || message.length < 3) return undefined;
  const header = message[0];
  if (!Number.isSafeInteger(header) || header >= 0) return undefined;
  const handler = -header % HANDLER_IDS;
  const flags = Math.floor(-header / HANDLER_IDS);
  let at = 3;
  const next = () => message[at++];
  const module = flags & FLAGS.module ? (next() as string) : null;
  const exportName = flags & FLAGS.module ? (next() as string) : null;
  const base = message[1] as number;
  const be = flags & FLAGS.baseEntries ? (next() as readonly unknown[]) : undefined;
  const e = flags & FLAGS.entries ? (next() as readonly unknown[]) : undefined;
  const r = flags & FLAGS.removed ? (next() as readonly string[]) : undefined;
  const d = at < message.length ? message.slice(at) : undefined;
  let snapshot: SnapshotFields | null = null;
  if (base !== 0 || e !== undefined) {
    const fields: { -readonly [K in keyof SnapshotFields]: SnapshotFields[K] } = {};
    if (base !== 0) fields.b = base;
    if (be !== undefined) fields.be = be;
    if (e !== undefined) fields.e = e;
    if (d !== undefined) fields.d = d;
    if (r !== undefined) fields.r = r;
    snapshot = fields;
  }
  return { handler, module, exportName, snapshot, task: message[2] };
}

/**
 * Thrown by a worker that lacks what a task names (its handler or its base)
 * before running anything: the pool sends the task again with them.
 */
export interface Miss {
  readonly cvMiss: number;
}

export const MISS: Miss = { cvMiss: PROTOCOL };

export function isMiss(value: unknown): value is Miss {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { cvMiss?: unknown }).cvMiss === PROTOCOL
  );
}

/** Results are the task's own business: only the walk's safety limits apply. */
const UNLIMITED: Limits = { maxBytes: Number.MAX_SAFE_INTEGER, maxDepth: 1000 };

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
  const refusal = whyUnsendable(movable === undefined ? result : movable.value);
  if (refusal !== undefined) {
    throw new ContextPoolError(
      'ERR_TASK_RESULT',
      `The task's result cannot be sent back to the caller: ${refusal}`,
    );
  }
}

/** What in `value` structured clone would refuse, as "the value at .path is ...", if anything. */
export function whyUnsendable(value: unknown): string | undefined {
  try {
    walkValue(value, UNLIMITED, 'clone', false);
    return undefined;
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    return `the value${error.path ? ` at ${error.path}` : ''} ${error.reason}`;
  }
}
