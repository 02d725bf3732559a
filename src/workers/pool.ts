import type { EventEmitter } from 'node:events';
import { Piscina } from 'piscina';
import { type Context, copyContext } from '../context/index.js';
import { checkContext, copyOf, invalidArgType } from '../context/internal.js';
import { decodeThrown, isThrownRecords, limitsFor } from '../serialization/internal.js';
import { ContextPoolError, poolFailure } from './errors.js';
import { moduleUrl } from './handlers.js';
import { encodeTask, isMiss, type TaskMessage, unwrapMovable, whyUnsendable } from './protocol.js';
import { SnapshotSender } from './snapshots.js';

type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;
type PiscinaRunOptions = NonNullable<Parameters<Piscina['run']>[1]>;

/**
 * Options of `new ContextPool(options)`: piscina's, with `filename` and `name`
 * naming the user's module and export.
 */
export type ContextPoolOptions = PiscinaOptions;

/** Options of `pool.run(task, options)`: piscina's run options. */
export interface RunOptions {
  /** The export that handles the task (default: the pool's `name`, else `default`). */
  name?: string;
  /** A module other than the pool's `filename`. */
  filename?: string;
  transferList?: PiscinaRunOptions['transferList'];
  signal?: PiscinaRunOptions['signal'];
}

/** Options of `pool.runInContext(task, options)`. */
export interface RunInContextOptions extends RunOptions {
  /** The context the task runs in a copy of (default: `copyContext()` at call time). */
  context?: Context;
}

/**
 * Defaults ContextPool changes from piscina's, each for the promise that a
 * task's context lives as long as the work it starts (README, "Defaults").
 */
export const CONTEXT_POOL_DEFAULTS = {
  /** piscina's 0 ends idle workers at once, churning threads between bursts of tasks. */
  idleTimeout: 30_000,
  /**
   * piscina's 'sync' parks an idle worker in Atomics.wait: timers and I/O a
   * task leaves running after it returns would be frozen until the next task.
   */
  atomics: 'async',
} as const satisfies Partial<PiscinaOptions>;

const ENTRY = new URL('./entry.js', import.meta.url).href;

/**
 * A piscina pool whose tasks keep the caller's context.
 *
 * `runInContext(task)` runs the task in a worker inside a copy of the
 * caller's context at call time (Python's `asyncio.to_thread`); `run(task)`
 * runs it in an empty context (a new Python thread). Changes made in the
 * worker never reach the caller, the worker's root context, or any other task.
 *
 * @example
 * const pool = new ContextPool({ filename: new URL('./hash.js', import.meta.url).href });
 * requestId.set('r-7');
 * await pool.runInContext('password'); // hash.js sees requestId.get() === 'r-7'
 */
export class ContextPool {
  /** The underlying piscina pool: its statistics, events and options. */
  readonly piscina: Piscina;
  readonly #filename: string | undefined;
  readonly #name: string;
  readonly #snapshots = new SnapshotSender(limitsFor('structured', {}));
  readonly #handlers = new Map<string, number>();
  /** How many tasks named each handler's module so far. */
  readonly #introductions = new Map<number, number>();
  readonly #threadsToIntroduce: number;
  /** Tasks sent back by a worker that lacked their handler or base, and sent again. */
  #misses = 0;

  constructor(options: ContextPoolOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw invalidArgType('options', 'an object', options);
    }
    const { filename, name } = options;
    if (filename !== undefined && filename !== null && typeof filename !== 'string') {
      throw invalidArgType('options.filename', 'a string (a path or a file URL)', filename);
    }
    if (name !== undefined && name !== null && typeof name !== 'string') {
      throw invalidArgType('options.name', 'a string', name);
    }
    this.#filename = filename ?? undefined;
    this.#name = name ?? 'default';
    this.piscina = new Piscina({
      ...CONTEXT_POOL_DEFAULTS,
      ...options,
      filename: ENTRY,
      name: 'default',
    });
    this.#threadsToIntroduce = 2 * this.piscina.options.maxThreads;
    // An error outside any task (a worker dying between tasks, a close that
    // timed out) is piscina's 'error' event. This listener comes first: it
    // gives the error its code before anyone else sees it, and, when nobody
    // else listens, turns it into a warning instead of ending the process.
    this.piscina.on('error', (error: unknown) => {
      const coded = poolFailure(error, false);
      if (this.piscina.listenerCount('error') === 1) {
        process.emitWarning(coded);
      }
    });
  }

  /** Runs `task` in a worker, in a copy of the current context (or `options.context`). */
  runInContext<R = unknown>(task: unknown, options: RunInContextOptions = {}): Promise<R> {
    try {
      // A copy, taken now: later changes to the given context must not reach the task.
      const context =
        options.context === undefined
          ? copyContext()
          : copyOf(checkContext(options.context, 'options.context'));
      return this.#submit<R>(task, options, context);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs `task` in a worker, in an empty context (a new Python thread's). */
  run<R = unknown>(task: unknown, options: RunOptions = {}): Promise<R> {
    try {
      return this.#submit<R>(task, options, null);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #submit<R>(task: unknown, options: RunOptions, context: Context | null): Promise<R> {
    if (typeof options !== 'object' || options === null) {
      throw invalidArgType('options', 'an object', options);
    }
    const filename = options.filename ?? this.#filename;
    if (typeof filename !== 'string') {
      throw invalidArgType('options.filename', 'a string: the pool has no filename', filename);
    }
    // A task wrapped by Piscina.move() travels unwrapped inside the message.
    const movable = unwrapMovable(task);
    const transferList = [...(options.transferList ?? []), ...(movable?.transferList ?? [])];
    let snapshot = context === null ? null : this.#snapshots.fieldsFor(context);
    const url = moduleUrl(filename);
    const exportName = options.name ?? this.#name;
    const handler = this.#handlerId(url, exportName);
    const payload = movable === undefined ? task : movable.value;
    const runOptions = {
      ...(transferList.length > 0
        ? { transferList: transferList as PiscinaRunOptions['transferList'] }
        : {}),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    };
    // Transferred objects cannot be sent twice: such a task carries everything at once.
    if (transferList.length > 0) {
      if (context !== null && snapshot !== null)
        snapshot = this.#snapshots.withBase(snapshot, context);
      return this.#post(
        encodeTask(handler, url, exportName, snapshot, payload),
        runOptions,
        payload,
      );
    }
    // The first tasks of a handler name its module, so most workers learn it without a miss.
    const introduce = (this.#introductions.get(handler) ?? 0) < this.#threadsToIntroduce;
    if (introduce) this.#introductions.set(handler, (this.#introductions.get(handler) ?? 0) + 1);
    const message = encodeTask(
      handler,
      introduce ? url : null,
      introduce ? exportName : null,
      snapshot,
      payload,
    );
    return this.piscina.run(message, runOptions).then(undefined, (error: unknown) => {
      if (!isMiss(error)) return rethrowFailure(error, payload);
      this.#misses++;
      // The worker lacked the handler or the base: once more, with both.
      const full =
        context === null || snapshot === null
          ? snapshot
          : this.#snapshots.withBase(snapshot, context);
      return this.#post(encodeTask(handler, url, exportName, full, payload), runOptions, payload);
    }) as Promise<R>;
  }

  #post<R>(message: TaskMessage, runOptions: PiscinaRunOptions, payload: unknown): Promise<R> {
    return this.piscina
      .run(message, runOptions)
      .catch((error: unknown) => rethrowFailure(error, payload)) as Promise<R>;
  }

  /** A small id for a (module, export) pair, so tasks need not carry the URL. */
  #handlerId(url: string, exportName: string): number {
    const key = `${exportName}\0${url}`;
    let id = this.#handlers.get(key);
    if (id === undefined) {
      id = this.#handlers.size + 1;
      this.#handlers.set(key, id);
    }
    return id;
  }

  /**
   * Waits for running and queued tasks (`force`: rejects queued ones), then
   * stops the workers. If they take longer than `closeTimeout`, the rest are
   * destroyed and close rejects with `ERR_CLOSE_TIMEOUT`.
   */
  async close(options?: { force?: boolean }): Promise<void> {
    let timedOut: Error | undefined;
    const onError = (error: unknown) => {
      if ((error as { code?: unknown }).code === 'ERR_CLOSE_TIMEOUT') timedOut = error as Error;
    };
    this.piscina.on('error', onError);
    try {
      await this.piscina.close(options);
    } finally {
      this.piscina.off('error', onError);
    }
    if (timedOut !== undefined) throw timedOut;
  }

  /** Stops the workers at once; tasks still running or queued reject with `ERR_POOL_DESTROYED`. */
  destroy(): Promise<void> {
    return this.piscina.destroy();
  }

  get threads(): Piscina['threads'] {
    return this.piscina.threads;
  }

  get queueSize(): number {
    return this.piscina.queueSize;
  }

  /** Tasks finished, not counting the round trips of tasks a worker sent back for a missing base. */
  get completed(): number {
    return this.piscina.completed - this.#misses;
  }

  get utilization(): number {
    return this.piscina.utilization;
  }

  get needsDrain(): boolean {
    return this.piscina.needsDrain;
  }

  get options(): Piscina['options'] {
    return this.piscina.options;
  }

  /** Listens to piscina's events ('error', 'drain', 'needsDrain', 'message', 'workerCreate', ...). */
  on(event: string | symbol, listener: (...args: unknown[]) => void): this {
    (this.piscina as unknown as EventEmitter).on(event, listener);
    return this;
  }

  once(event: string | symbol, listener: (...args: unknown[]) => void): this {
    (this.piscina as unknown as EventEmitter).once(event, listener);
    return this;
  }

  off(event: string | symbol, listener: (...args: unknown[]) => void): this {
    (this.piscina as unknown as EventEmitter).off(event, listener);
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function isDataCloneError(error: unknown): boolean {
  return error instanceof Error && error.name === 'DataCloneError';
}

/** The task itself could not be posted (a function in it...): name where, as a result check would. */
function unsendableTask(task: unknown, cause: unknown): ContextPoolError {
  const refusal = whyUnsendable(task) ?? (cause as Error).message;
  return new ContextPoolError(
    'ERR_TASK_ARGUMENT',
    `The task cannot be sent to a worker: ${refusal}`,
    {
      cause,
    },
  );
}

/**
 * A task's own failure arrives as records; a task that could not be posted is
 * named as such; anything else is piscina's or the worker's death.
 */
function rethrowFailure(error: unknown, payload: unknown): never {
  if (isThrownRecords(error)) throw decodeThrown(error);
  if (isDataCloneError(error)) throw unsendableTask(payload, error);
  throw poolFailure(error);
}
