import type { EventEmitter } from 'node:events';
import { Piscina } from 'piscina';
import { BRAND } from '../context/brand.js';
import { type Context, copyContext } from '../context/index.js';
import { invalidArgType } from '../context/internal.js';
import { encodeEntries, limitsFor } from '../serialization/internal.js';
import { poolFailure } from './errors.js';
import { moduleUrl } from './handlers.js';
import {
  decodeThrown,
  isThrownMessage,
  PROTOCOL,
  type TaskMessage,
  unwrapMovable,
} from './protocol.js';

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
const SNAPSHOT_LIMITS = limitsFor('structured', {});

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
      const context = options.context === undefined ? copyContext() : checkContext(options.context);
      return this.#submit<R>(
        task,
        options,
        encodeEntries(context, 'structured', SNAPSHOT_LIMITS).entries,
      );
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

  #submit<R>(task: unknown, options: RunOptions, entries: readonly unknown[] | null): Promise<R> {
    if (typeof options !== 'object' || options === null) {
      throw invalidArgType('options', 'an object', options);
    }
    const filename = options.filename ?? this.#filename;
    if (typeof filename !== 'string') {
      throw invalidArgType('options.filename', 'a string: the pool has no filename', filename);
    }
    // A task wrapped by Piscina.move() travels unwrapped inside the message.
    const movable = unwrapMovable(task);
    const message: TaskMessage = {
      cv: PROTOCOL,
      m: moduleUrl(filename),
      n: options.name ?? this.#name,
      e: entries,
      t: movable === undefined ? task : movable.value,
    };
    const transferList = [...(options.transferList ?? []), ...(movable?.transferList ?? [])];
    return this.piscina
      .run(message, {
        ...(transferList.length > 0
          ? { transferList: transferList as PiscinaRunOptions['transferList'] }
          : {}),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      })
      .catch(rethrowTaskFailure) as Promise<R>;
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

  get completed(): number {
    return this.piscina.completed;
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

function checkContext(context: unknown): Context {
  if (
    typeof context !== 'object' ||
    context === null ||
    (context as Record<symbol, unknown>)[BRAND.context] !== true
  ) {
    throw invalidArgType('options.context', 'a Context', context);
  }
  return context as Context;
}

/** A task's own failure arrives as records; anything else is piscina's or the worker's death. */
function rethrowTaskFailure(error: unknown): never {
  throw isThrownMessage(error) ? decodeThrown(error) : poolFailure(error);
}
