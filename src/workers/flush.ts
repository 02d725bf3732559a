/**
 * Spans a task ends in a worker must reach their exporter before the thread
 * stops. Carried entries that hold such output (OpenTelemetry) have a
 * `flush`: a worker flushes them soon after each task that restored one, and
 * a pool asks its workers to flush, and waits for them, before it closes or
 * is destroyed.
 *
 * A pool and each of its workers share a *flush line*: three Int32 cells of a
 * SharedArrayBuffer the pool makes for that worker and hands it with the
 * first task it gives it (dispatch.ts). No other thread holds it, so no code
 * elsewhere can answer for this worker or make the pool keep anything: the
 * cells are all there is, and the pool reads them only while it waits.
 * When a worker flushes (`flushSoon`) is its own policy, apart from the line.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { carriedEntries, isAnythingCarried } from '../context/internal.js';

/** The worker sets it to 1 once it holds something to flush: the pool waits for such workers only. */
const FLUSHES = 0;
/** The number of the pool's latest request to flush. */
const REQUESTED = 1;
/** The latest request the worker has answered, having flushed after it arrived. */
const ANSWERED = 2;
const CELLS = 3;

/** `Atomics.waitAsync` (ES2024, in Node since 16): the compiler's lib here predates it. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      cells: Int32Array,
      index: number,
      value: number,
      timeoutMs?: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

/** A worker's flush line: three Int32 cells shared by the pool and that worker. */
export type FlushLine = Int32Array;

/** A line for a new worker: the pool keeps it and hands it to the worker with its first task. */
export function newFlushLine(): FlushLine {
  return new Int32Array(new SharedArrayBuffer(CELLS * Int32Array.BYTES_PER_ELEMENT));
}

/**
 * The pool side: asks every worker whose line says it flushes to do so, and
 * resolves when they all have answered, or after `timeoutMs` (a worker busy
 * with a task, or parked by `atomics: 'sync'`, answers late or not at all).
 */
export async function flushWorkers(lines: Iterable<FlushLine>, timeoutMs: number): Promise<void> {
  const waits: Promise<void>[] = [];
  const deadline = performance.now() + timeoutMs;
  for (const line of lines) {
    if (Atomics.load(line, FLUSHES) === 0) continue;
    const request = Atomics.add(line, REQUESTED, 1) + 1;
    Atomics.notify(line, REQUESTED);
    waits.push(answered(line, request, deadline));
  }
  if (waits.length === 0) return;
  // A pending Atomics.waitAsync keeps no process alive: this timer does, until workers answer.
  const alive = setTimeout(() => {}, timeoutMs);
  await Promise.all(waits);
  clearTimeout(alive);
}

/** Resolves once the worker answered `request` (or a later one), or at `deadline`. */
async function answered(line: FlushLine, request: number, deadline: number): Promise<void> {
  for (;;) {
    const answer = Atomics.load(line, ANSWERED);
    // Request numbers only grow (wrapping at 2^32): the difference says which is later.
    if (((answer - request) | 0) >= 0) return;
    const left = deadline - performance.now();
    if (left <= 0) return;
    const wait = waitAsync(line, ANSWERED, answer, left);
    if (!wait.async) {
      // An answer to an earlier request just landed: look again on a later
      // turn, so that a line that never stops changing cannot hold this thread.
      await nextTurn();
    } else if ((await wait.value) === 'timed-out') {
      return;
    }
  }
}

/** The worker side: the line its pool handed it, and whether it listens on it yet. */
let workerLine: FlushLine | undefined;
let listening = false;
let scheduled = false;

/** Keeps the line the pool handed this worker (the first task it gives it carries it). */
export function useFlushLine(line: FlushLine): void {
  workerLine ??= line;
}

async function flushAll(): Promise<void> {
  await Promise.allSettled(
    [...carriedEntries()].map((entry) => (entry.flush === undefined ? undefined : entry.flush())),
  );
}

function hasFlush(): boolean {
  if (!isAnythingCarried()) return false;
  for (const entry of carriedEntries()) if (entry.flush !== undefined) return true;
  return false;
}

/**
 * After a task: flushes what carried entries hold, once the thread has a free
 * turn (several tasks in a row share one flush), and makes this worker one
 * its pool waits for when it closes.
 */
export function flushSoon(): void {
  if (scheduled || !hasFlush()) return;
  scheduled = true;
  if (!listening && workerLine !== undefined) {
    listening = true;
    Atomics.store(workerLine, FLUSHES, 1);
    listen(workerLine);
  }
  setImmediate(() => {
    scheduled = false;
    void flushAll();
  }).unref();
}

/** Waits for the pool's next request (a pending wait keeps no thread alive), then answers it. */
function listen(line: FlushLine): void {
  const wait = waitAsync(line, REQUESTED, Atomics.load(line, REQUESTED));
  if (wait.async) void wait.value.then(() => answer(line));
  else void answer(line);
}

/** Flushes, then tells the pool which request that covers: every one made before it began. */
async function answer(line: FlushLine): Promise<void> {
  const request = Atomics.load(line, REQUESTED);
  await flushAll();
  Atomics.store(line, ANSWERED, request);
  Atomics.notify(line, ANSWERED);
  listen(line);
}
