/**
 * Spans a task ends in a worker must reach their exporter before the thread
 * stops. Carried entries that hold such output (OpenTelemetry) have a
 * `flush`: a worker flushes them soon after each task that restored one, and
 * a pool asks its workers to flush, and waits for them, before it closes or
 * is destroyed. Both sides talk on one BroadcastChannel of the process.
 */
import { randomInt } from 'node:crypto';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { carriedEntries, isAnythingCarried } from '../context/internal.js';

const CHANNEL = 'contextvars.flush';

type FlushMessage =
  | { readonly flushable: number }
  | { readonly request: number }
  | { readonly done: number; readonly thread: number };

/**
 * Any thread of the process can post on the channel: what is not one of
 * these messages, whole, is ignored.
 */
function flushMessage(
  data: unknown,
): Partial<Record<'flushable' | 'request' | 'done' | 'thread', number>> {
  if (typeof data !== 'object' || data === null) return {};
  const read = (key: string) => {
    const value = (data as Record<string, unknown>)[key];
    return Number.isSafeInteger(value) ? (value as number) : undefined;
  };
  const message: Partial<Record<'flushable' | 'request' | 'done' | 'thread', number>> = {};
  for (const key of ['flushable', 'request', 'done', 'thread'] as const) {
    const value = read(key);
    if (value !== undefined) message[key] = value;
  }
  return message;
}

/** Request ids, unique in the process (every pool hears every answer) and not guessable. */
const nextRequest = () => randomInt(2 ** 47);

/** The worker side. */
let workerChannel: BroadcastChannel | undefined;
let scheduled = false;
let announced = false;

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
  if (!announced) {
    announced = true;
    channelOfWorker().postMessage({ flushable: threadId } satisfies FlushMessage);
  }
  setImmediate(() => {
    scheduled = false;
    void flushAll();
  }).unref();
}

function channelOfWorker(): BroadcastChannel {
  if (workerChannel === undefined) {
    const channel = new BroadcastChannel(CHANNEL);
    channel.onmessage = (event) => {
      const { request } = flushMessage((event as { data: unknown }).data);
      if (request === undefined) return;
      void flushAll().then(() =>
        channel.postMessage({ done: request, thread: threadId } satisfies FlushMessage),
      );
    };
    (channel as unknown as { unref(): void }).unref();
    workerChannel = channel;
  }
  return workerChannel;
}

/** The pool side: which threads flush, and asking them to. */
export class FlushRequests {
  readonly #flushable = new Set<number>();
  readonly #waiting = new Map<number, { threads: Set<number>; done: () => void }>();
  readonly #channel = new BroadcastChannel(CHANNEL);

  constructor() {
    this.#channel.onmessage = (event) => {
      const { flushable, done, thread } = flushMessage((event as { data: unknown }).data);
      if (flushable !== undefined) this.#flushable.add(flushable);
      if (done === undefined || thread === undefined) return;
      const waiting = this.#waiting.get(done);
      if (waiting?.threads.delete(thread) && waiting.threads.size === 0) waiting.done();
    };
    (this.#channel as unknown as { unref(): void }).unref();
  }

  /**
   * Asks the threads among `live` that said they flush to do so; resolves
   * when they have, or after `timeoutMs` (a thread busy with a task, or
   * parked by `atomics: 'sync'`, answers late or not at all).
   */
  async flush(live: readonly number[], timeoutMs: number): Promise<void> {
    const threads = new Set(live.filter((id) => this.#flushable.has(id)));
    if (threads.size === 0) return;
    const request = nextRequest();
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#waiting.set(request, { threads, done: resolve });
      // Not unref'd: the wait itself keeps the process up until workers answer.
      timer = setTimeout(resolve, timeoutMs);
      this.#channel.postMessage({ request } satisfies FlushMessage);
    });
    clearTimeout(timer);
    this.#waiting.delete(request);
  }

  /** Forgets a thread that has ended. */
  gone(threadId: number): void {
    this.#flushable.delete(threadId);
  }

  close(): void {
    this.#channel.close();
  }
}
