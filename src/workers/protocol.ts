import type { FlushLine } from './flush.js';
import type { SnapshotFields } from './snapshots.js';

/**
 * The layout of the messages between ContextPool and its worker entry. A task
 * travels next to the user's payload, never inside it; piscina carries the
 * message.
 *
 * A message is a flat array `[header, baseId, task, ...extras, ...changes]`:
 * structured clone spends about 280 ns on any array and 35 ns per element
 * (measured), against 0.5 us more for an object with the same fields, so it
 * holds only what this task needs. `header` is a negative integer (which marks
 * the message as ContextPool's): the pool's id for the task's (module, export)
 * pair, plus flags saying which extras follow, in the order `writeTask` writes them.
 * `baseId` (0: none) and the changed entries (`name, flags, payload` ...)
 * complete the snapshot (see SnapshotFields); no base and no entries mean an
 * empty context.
 */
export const PROTOCOL = 1;

/** Flags of the header, one per optional part of a message. */
const FLAG = {
  /** The module URL and export name the handler id stands for (until the worker knows it). */
  module: 1,
  /** Base ids the worker may forget: the pool will never name them again. */
  forget: 2,
  /** The base's entries, for a worker that does not hold it. */
  baseEntries: 4,
  /** The base's entries are for this task only: the pool no longer keeps that base. */
  baseOnce: 8,
  /** The whole snapshot's entries (no base). */
  entries: 16,
  /** Names the base has and this snapshot does not. */
  removed: 32,
  /** The caller asked for the context as the handler left it (`returnContext`). */
  returnContext: 64,
  /** The worker's flush line (flush.ts), with the first task the pool gives it. */
  flushLine: 128,
} as const;

/** Handler ids stay below this, flags sit above it. */
const HANDLER_IDS = 2 ** 20;

/** What the pool adds to a task for the worker it was given to. */
export interface Introductions {
  /** The module URL and export name of the task's handler id. */
  readonly module?: readonly [url: string, exportName: string];
  readonly forget?: readonly number[];
  readonly baseEntries?: readonly unknown[];
  /** The base's entries are for this task only. */
  readonly baseOnce?: boolean;
  readonly flushLine?: FlushLine;
}

/** A message as the worker reads it (absent parts undefined). */
export interface DecodedTask {
  readonly handler: number;
  /** null: an empty context. */
  readonly snapshot: SnapshotFields | null;
  readonly returnContext: boolean;
  readonly task: unknown;
  readonly module: readonly [url: string, exportName: string] | undefined;
  readonly forget: readonly number[] | undefined;
  readonly baseEntries: readonly unknown[] | undefined;
  readonly baseOnce: boolean;
  readonly flushLine: FlushLine | undefined;
}

/**
 * Writes a task's message into `message`, an empty array: the pool writes it
 * once when the task is submitted, and again (emptied), with introductions,
 * when the balancer gives it to a worker that lacks something it names.
 */
export function writeTask(
  message: unknown[],
  handler: number,
  snapshot: SnapshotFields | null,
  returnContext: boolean,
  task: unknown,
  introductions: Introductions | undefined,
): void {
  if (!(handler > 0 && handler < HANDLER_IDS))
    throw new RangeError(`handler id ${handler} out of range`);
  message.push(0, snapshot?.baseId ?? 0, task);
  let flags = returnContext ? FLAG.returnContext : 0;
  if (introductions?.module !== undefined) {
    flags |= FLAG.module;
    message.push(introductions.module[0], introductions.module[1]);
  }
  if (introductions?.forget !== undefined) {
    flags |= FLAG.forget;
    message.push(introductions.forget);
  }
  if (introductions?.baseEntries !== undefined) {
    flags |= FLAG.baseEntries | (introductions.baseOnce === true ? FLAG.baseOnce : 0);
    message.push(introductions.baseEntries);
  }
  if (introductions?.flushLine !== undefined) {
    flags |= FLAG.flushLine;
    message.push(introductions.flushLine);
  }
  if (snapshot?.entries !== undefined) {
    flags |= FLAG.entries;
    message.push(snapshot.entries);
  }
  if (snapshot?.removed !== undefined) {
    flags |= FLAG.removed;
    message.push(snapshot.removed);
  }
  if (snapshot?.changes !== undefined) for (const item of snapshot.changes) message.push(item);
  message[0] = -(handler + flags * HANDLER_IDS);
}

/** The task a message carries, or undefined if it is not a ContextPool message. */
export function decodeTask(message: unknown): DecodedTask | undefined {
  if (!Array.isArray(message) || message.length < 3) return undefined;
  const header = message[0];
  if (!Number.isSafeInteger(header) || header >= 0) return undefined;
  const flags = Math.floor(-header / HANDLER_IDS);
  let at = 3;
  let module: readonly [string, string] | undefined;
  if (flags & FLAG.module) {
    module = [message[at] as string, message[at + 1] as string];
    at += 2;
  }
  const forget = flags & FLAG.forget ? (message[at++] as readonly number[]) : undefined;
  const baseEntries = flags & FLAG.baseEntries ? (message[at++] as readonly unknown[]) : undefined;
  const flushLine = flags & FLAG.flushLine ? (message[at++] as FlushLine) : undefined;
  const entries = flags & FLAG.entries ? (message[at++] as readonly unknown[]) : undefined;
  const removed = flags & FLAG.removed ? (message[at++] as readonly string[]) : undefined;
  const baseId = message[1] as number;
  let snapshot: SnapshotFields | null = null;
  if (baseId !== 0 || entries !== undefined) {
    const fields: { -readonly [K in keyof SnapshotFields]: SnapshotFields[K] } = {};
    if (baseId !== 0) fields.baseId = baseId;
    if (entries !== undefined) fields.entries = entries;
    if (at < message.length) fields.changes = message.slice(at);
    if (removed !== undefined) fields.removed = removed;
    snapshot = fields;
  }
  return {
    handler: -header % HANDLER_IDS,
    snapshot,
    returnContext: (flags & FLAG.returnContext) !== 0,
    task: message[2],
    module,
    forget,
    baseEntries,
    baseOnce: (flags & FLAG.baseOnce) !== 0,
    flushLine,
  };
}

/** What a `returnContext` task resolves with in the worker: its result and its context's snapshot. */
export interface ResultWithContext {
  readonly cvResult: number;
  readonly result: unknown;
  readonly context: unknown;
}

/** The reply of a `returnContext` task: the worker's result and its context's snapshot. */
export function resultWithContext(result: unknown, context: unknown): ResultWithContext {
  return { cvResult: PROTOCOL, result, context };
}

/** Whether a reply is a `returnContext` task's (anything else is a plain result). */
export function isResultWithContext(value: unknown): value is ResultWithContext {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { cvResult?: unknown }).cvResult === PROTOCOL
  );
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
