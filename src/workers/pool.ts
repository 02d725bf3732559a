import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { type Context, copyContext } from '../context/index.js';
import {
  checkContext,
  copyOf,
  invalidArgType,
  invalidArgValue,
  withCode,
} from '../context/internal.js';
import { deserializeContext, type StructuredSnapshot } from '../serialization/index.js';
import { Dispatcher, factsOf, type LoadBalancer, leastBusy, type TaskMessage } from './dispatch.js';
import { poolFailure } from './errors.js';
import { flushWorkers } from './flush.js';
import { isResultWithContext, unwrapMovable } from './protocol.js';

type PiscinaOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;
type PiscinaRunOptions = NonNullable<Parameters<Piscina['run']>[1]>;

/**
 * Options of `new ContextPool(options)`: piscina's, with `filename` and `name`
 * naming the user's module and export. Read as own properties only, as piscina does.
 */
export type ContextPoolOptions = PiscinaOptions;

/** Options of `pool.run(task, options)`: piscina's run options. */
export interface RunOptions {
  /** The export that handles the task (default: the pool's `name`, else `default`). */
  name?: string | null;
  /** A module other than the pool's `filename`. */
  filename?: string | null;
  transferList?: PiscinaRunOptions['transferList'];
  signal?: PiscinaRunOptions['signal'];
}

/** Options of `pool.runInContext(task, options)`. */
export interface RunInContextOptions extends RunOptions {
  /** The context the task runs in a copy of (default: `copyContext()` at call time). */
  context?: Context;
  /**
   * Resolve `{ result, context }`: `context` is the task's context as the
   * handler left it (its propagating vars). Python threads never write back,
   * and neither does a pool unless asked.
   */
  returnContext?: boolean;
}

/** What `runInContext(task, { returnContext: true })` resolves with. */
export interface WithContext<R> {
  readonly result: R;
  readonly context: Context;
}

/** The piscina events a ContextPool re-emits as they come. */
const POOL_EVENTS = [
  'drain',
  'needsDrain',
  'message',
  'workerCreate',
  'workerDestroy',
  'close',
] as const;

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

/**
 * How long close and destroy wait for workers to flush their spans: a worker
 * busy with a long task, or parked by `atomics: 'sync'`, does not answer.
 */
const FLUSH_TIMEOUT_MS = 1000;

const ENTRY = new URL('./entry.cjs', import.meta.url).href;
const NO_OPTIONS: RunInContextOptions = Object.freeze({});
const NOTHING: readonly unknown[] = Object.freeze([]);
const NO_RUN_OPTIONS: PiscinaRunOptions = Object.freeze({});

/**
 * A piscina pool whose tasks keep the caller's context, and a drop-in for
 * piscina: an EventEmitter with piscina's events and instance API, taking
 * piscina's options and worker modules unchanged.
 *
 * `runInContext(task)` runs the task in a worker inside a copy of the
 * caller's context at call time (Python's `asyncio.to_thread`); `run(task)`
 * runs it in an empty context (a new Python thread). Changes made in the
 * worker never reach the caller, the worker's root context, or any other task.
 *
 * `T` and `R` are piscina's generics (task, result); `ContextPool.typed`
 * checks task, export name and result against the worker module's types.
 *
 * @example
 * const pool = new ContextPool({ filename: new URL('./hash.js', import.meta.url).href });
 * requestId.set('r-7');
 * await pool.runInContext('password'); // hash.js sees requestId.get() === 'r-7'
 */
export class ContextPool<T = unknown, R = unknown> extends EventEmitter {
  /** The underlying piscina pool. Its `filename` is this package's worker entry. */
  readonly piscina: Piscina;
  readonly #dispatcher: Dispatcher;
  readonly #filename: string | null;
  readonly #name: string;
  readonly #options: Piscina['options'];
  /** Tasks submitted and not settled: what `close()` waits for. */
  #pending = 0;
  #closing = false;
  /** close() calls waiting for #pending to reach 0. */
  #drainWaiters: Array<() => void> = [];

  constructor(options: ContextPoolOptions = {}) {
    super();
    if (typeof options !== 'object' || options === null) {
      throw invalidArgType('options', 'an object', options);
    }
    // Own properties only, as piscina reads them.
    const own = ownProperties(options);
    const { filename, name, loadBalancer } = own;
    if (typeof filename !== 'string' && filename != null) {
      throw codedTypeError('options.filename must be a string or null');
    }
    if (typeof name !== 'string' && name != null) {
      throw codedTypeError('options.name must be a string or null');
    }
    if (
      loadBalancer !== undefined &&
      (typeof loadBalancer !== 'function' || loadBalancer.length < 1)
    ) {
      throw codedTypeError('options.loadBalancer must be a function with at least two args');
    }
    this.#filename = filename ?? null;
    this.#name = name ?? 'default';
    this.#dispatcher = new Dispatcher(
      (loadBalancer as LoadBalancer | undefined) ??
        (leastBusy(own.concurrentTasksPerWorker ?? 1) as LoadBalancer),
    );
    this.piscina = new Piscina({
      ...CONTEXT_POOL_DEFAULTS,
      ...own,
      filename: ENTRY,
      name: 'default',
      loadBalancer: this.#dispatcher.balancer as unknown as NonNullable<
        PiscinaOptions['loadBalancer']
      >,
    });
    // The options as given, filled as piscina fills them.
    this.#options = Object.assign(Object.create(null) as Piscina['options'], this.piscina.options, {
      filename: filename
        ? filename.startsWith('file:')
          ? fileURLToPath(filename)
          : filename
        : null,
      name: this.#name,
      loadBalancer,
    });
    for (const event of POOL_EVENTS) {
      this.piscina.on(event, (...args: unknown[]) => this.emit(event, ...args));
    }
    this.piscina.on('workerDestroy', (worker: { id: number }) => {
      this.#dispatcher.workerGone(worker.id);
    });
    // An error outside any task (a worker dying between tasks, a close that
    // timed out) is piscina's 'error' event: it gets its code, and when
    // nobody listens it becomes a warning instead of ending the process.
    this.piscina.on('error', (error: unknown) => this.#emitError(poolFailure(error)));
  }

  /**
   * A pool typed by its worker module: `name` must be one of the module's
   * function exports, and the task and result types are that export's.
   *
   * @example
   * const pool = ContextPool.typed<typeof import('./hash.js')>({ filename });
   * const digest = await pool.runInContext('text', { name: 'sha256' }); // string
   */
  static typed<M>(options: ContextPoolOptions = {}): TypedContextPool<M> {
    return new ContextPool(options) as unknown as TypedContextPool<M>;
  }

  /**
   * Runs `task` in a worker, in a copy of the current context (or
   * `options.context`); with `returnContext: true`, resolves
   * `{ result, context }`.
   */
  runInContext<Result = R>(
    task: T,
    options: RunInContextOptions & { returnContext: true },
  ): Promise<WithContext<Result>>;
  runInContext<Result = R>(task: T, options?: RunInContextOptions): Promise<Result>;
  runInContext(task: T, options: RunInContextOptions = NO_OPTIONS): Promise<unknown> {
    try {
      const own = ownRunOptions(options);
      const { returnContext = false } = own;
      if (typeof returnContext !== 'boolean') {
        throw invalidArgType('options.returnContext', 'of type boolean', returnContext);
      }
      // A copy, taken now: later changes to the given context must not reach the task.
      const context =
        own.context === undefined
          ? copyContext()
          : copyOf(checkContext(own.context, 'options.context'));
      return this.#submit(task, own, context, returnContext);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Runs `task` in a worker, in an empty context (a new Python thread's). */
  run<Result = R>(task: T, options: RunOptions = NO_OPTIONS): Promise<Result> {
    try {
      const own = ownRunOptions(options) as RunInContextOptions;
      if (own.returnContext !== undefined || own.context !== undefined) {
        throw invalidArgValue(
          own.context !== undefined ? 'options.context' : 'options.returnContext',
          'is a runInContext option: run() runs the task in an empty context',
          own.context ?? own.returnContext,
        );
      }
      return this.#submit(task, own, null, false) as Promise<Result>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #submit(
    task: unknown,
    options: RunInContextOptions,
    context: Context | null,
    returnContext: boolean,
  ): Promise<unknown> {
    const filename = options.filename ?? this.#filename;
    if (typeof filename !== 'string') {
      return Promise.reject(
        withCode(
          new Error('filename must be provided to run() or in options object'),
          'ERR_INVALID_ARG_TYPE',
        ),
      );
    }
    // A task wrapped by Piscina.move() travels unwrapped inside the message.
    const movable = unwrapMovable(task);
    const transferList =
      movable === undefined
        ? (options.transferList ?? NOTHING)
        : [...(options.transferList ?? NOTHING), ...movable.transferList];
    const message = this.#dispatcher.message(
      movable === undefined ? task : movable.value,
      filename,
      options.name ?? this.#name,
      context,
      returnContext,
      transferList,
    );
    // While close() waits for earlier tasks, later ones are refused as piscina refuses them.
    const signal = this.#closing ? CLOSING.signal : options.signal;
    let runOptions: PiscinaRunOptions = NO_RUN_OPTIONS;
    if (transferList.length > 0 || signal != null) {
      runOptions = {};
      if (transferList.length > 0)
        runOptions.transferList = transferList as PiscinaRunOptions['transferList'];
      if (signal != null) runOptions.signal = signal;
    }
    this.#pending++;
    this.#dispatcher.submitting = message;
    let settled: Promise<unknown>;
    try {
      settled = this.piscina.run(message, runOptions);
    } finally {
      this.#dispatcher.submitting = undefined;
    }
    return settled.then(
      (result: unknown) => this.#fulfilled(message, result),
      (error: unknown) => this.#rejected(message, error),
    );
  }

  #fulfilled(message: TaskMessage, result: unknown): unknown {
    this.#settled();
    this.#dispatcher.fulfilled(message);
    if (!factsOf(message).returnContext || !isResultWithContext(result)) return result;
    return {
      result: result.result,
      context: deserializeContext(result.context as StructuredSnapshot),
    };
  }

  #rejected(message: TaskMessage, error: unknown): never {
    this.#settled();
    this.#restartIfStranded();
    return this.#dispatcher.rejected(message, error);
  }

  /**
   * After a task failed: piscina (5.3) replaces a worker it ended (an abort
   * of the task it ran, a crash) only up to `minThreads`, so with
   * `minThreads: 0` the tasks queued behind would wait forever with no
   * worker to run them (cf. piscina's #805). piscina starts a worker for a
   * task submitted while others wait; one is submitted and withdrawn at once
   * (aborted while queued, it never runs and never counts as completed).
   */
  #restartIfStranded(): void {
    if (this.piscina.queueSize === 0 || this.piscina.threads.length > 0) return;
    const withdraw = new AbortController();
    this.piscina.run(null, { signal: withdraw.signal }).catch(() => {});
    withdraw.abort();
  }

  #settled(): void {
    this.#pending--;
    if (this.#pending === 0 && this.#drainWaiters.length > 0) {
      for (const drained of this.#drainWaiters.splice(0)) drained();
    }
  }

  #emitError(error: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
    else process.emitWarning(error);
  }

  /**
   * Waits for every task submitted so far, queued or running, then stops the
   * workers; tasks submitted meanwhile are refused (`AbortError`, as piscina
   * does). `force`: queued tasks reject with `ABORT_ERR` instead of running.
   * Past `closeTimeout` the rest are destroyed and the pool emits 'error'
   * (`ERR_CLOSE_TIMEOUT`), as piscina does.
   */
  async close(options: { force?: boolean } = {}): Promise<void> {
    if (typeof options !== 'object' || options === null) {
      throw codedTypeError('options must be an object');
    }
    const { force } = ownProperties(options);
    if (force !== undefined && typeof force !== 'boolean') {
      throw codedTypeError('force argument must be a boolean');
    }
    this.#closing = true;
    try {
      if (force !== true && this.#pending > 0) {
        const drained = new Promise<boolean>((resolve) => {
          this.#drainWaiters.push(() => resolve(true));
        });
        const timeout = sleep(this.piscina.options.closeTimeout, false, { ref: false });
        if (!(await Promise.race([drained, timeout]))) {
          this.#emitError(withCode(new Error('Close operation timed out'), 'ERR_CLOSE_TIMEOUT'));
          await this.piscina.destroy();
          this.emit('close');
          return;
        }
      }
      await this.#flushWorkers();
      await this.piscina.close({ force: force === true });
    } finally {
      this.#closing = false;
    }
  }

  /**
   * Stops the workers; tasks still running or queued reject with
   * `ERR_POOL_DESTROYED`. Workers that hold spans (OpenTelemetry) flush them
   * first, for at most FLUSH_TIMEOUT_MS.
   */
  async destroy(): Promise<void> {
    await this.#flushWorkers();
    await this.piscina.destroy();
  }

  #flushWorkers(): Promise<void> {
    return flushWorkers(
      this.#dispatcher.flushLines(this.piscina.threads.map((worker) => worker.threadId)),
      FLUSH_TIMEOUT_MS,
    );
  }

  /** The worker threads (piscina's `threads`). */
  get threads(): Piscina['threads'] {
    return this.piscina.threads;
  }

  /** Tasks waiting for a worker. */
  get queueSize(): number {
    return this.piscina.queueSize;
  }

  /** Tasks finished, fulfilled or not. */
  get completed(): number {
    return this.piscina.completed;
  }

  /** Approximate share of the pool's capacity used so far (piscina's measure). */
  get utilization(): number {
    return this.piscina.utilization;
  }

  /** Milliseconds since the pool was made. */
  get duration(): number {
    return this.piscina.duration;
  }

  /** Run and wait time summaries (piscina's histogram). */
  get histogram(): Piscina['histogram'] {
    return this.piscina.histogram;
  }

  /** Whether every worker is busy: wait for 'drain' before submitting more. */
  get needsDrain(): boolean {
    return this.piscina.needsDrain;
  }

  get maxThreads(): number {
    return this.piscina.maxThreads;
  }

  get minThreads(): number {
    return this.piscina.minThreads;
  }

  /** Workers ready and running no task. */
  get idleThreads(): number {
    return this.piscina.idleThreads;
  }

  /** The options as given (filename, name, load balancer) and filled with piscina's defaults. */
  get options(): Piscina['options'] {
    return this.#options;
  }

  [Symbol.dispose](): void {
    void this.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** piscina's `isWorkerThread`: true inside a pool's worker. */
  static get isWorkerThread(): boolean {
    return Piscina.isWorkerThread;
  }

  /** piscina's `workerData`: the pool's `workerData` option, inside a worker. */
  static get workerData(): unknown {
    return Piscina.workerData;
  }

  /** Marks a value to be transferred rather than copied (piscina's `move`). */
  static get move(): typeof Piscina.move {
    return Piscina.move;
  }

  static get transferableSymbol(): symbol {
    return Piscina.transferableSymbol;
  }

  static get valueSymbol(): symbol {
    return Piscina.valueSymbol;
  }

  /** A task's own property under this symbol reaches a custom `taskQueue` (priorities...). */
  static get queueOptionsSymbol(): symbol {
    return Piscina.queueOptionsSymbol;
  }
}

/** An AbortController aborted as piscina's is when a task arrives while the pool closes. */
const CLOSING = new AbortController();
CLOSING.abort('queue is being terminated');

/** A copy without a prototype: what an object says itself, never what Object.prototype was given. */
function ownProperties<O extends object>(options: O): O {
  return Object.assign(Object.create(null) as O, options);
}

function codedTypeError(message: string): TypeError {
  return withCode(new TypeError(message), 'ERR_INVALID_ARG_TYPE');
}

const RUN_OPTION_KEYS = [
  'name',
  'filename',
  'transferList',
  'signal',
  'context',
  'returnContext',
] as const;

/**
 * Whether reading `options` directly reads own properties only: a plain
 * object, and nobody gave Object.prototype a run option. Saves a copy per task.
 */
function inheritsNone(options: object): boolean {
  const proto = Object.getPrototypeOf(options) as object | null;
  if (proto === null) return true;
  if (proto !== Object.prototype) return false;
  for (const key of RUN_OPTION_KEYS) if (key in proto) return false;
  return true;
}

/** Run options as piscina reads them (own properties), checked as piscina checks them. */
function ownRunOptions(options: RunInContextOptions): RunInContextOptions {
  if (options === NO_OPTIONS) return options;
  if (options === null || typeof options !== 'object') {
    throw codedTypeError('options must be an object');
  }
  const own = inheritsNone(options) ? options : ownProperties(options);
  if (own.transferList !== undefined && !Array.isArray(own.transferList)) {
    throw codedTypeError('transferList argument must be an Array');
  }
  if (own.filename != null && typeof own.filename !== 'string') {
    throw codedTypeError('filename argument must be a string');
  }
  if (own.name != null && typeof own.name !== 'string') {
    throw codedTypeError('name argument must be a string');
  }
  if (own.signal != null && typeof own.signal !== 'object') {
    throw codedTypeError('signal argument must be an object');
  }
  return own;
}

type AnyHandler = (...args: never[]) => unknown;

/** The names of a worker module's function exports. */
export type HandlerName<M> = {
  [K in keyof M & string]: M[K] extends AnyHandler ? K : never;
}[keyof M & string];

/** The task type an export takes (its first parameter). */
export type TaskOf<M, N extends HandlerName<M>> = M[N] extends AnyHandler
  ? Parameters<M[N]> extends [infer A, ...unknown[]]
    ? A
    : Parameters<M[N]> extends [(infer A)?, ...unknown[]]
      ? A | undefined
      : undefined
  : never;

/** The result type an export resolves with. */
export type ResultOf<M, N extends HandlerName<M>> = M[N] extends AnyHandler
  ? Awaited<ReturnType<M[N]>>
  : never;

/** Run options naming one export of the module. */
export type TypedRunOptions<N extends string> = Omit<RunOptions, 'name'> &
  ('default' extends N ? { name?: N } : { name: N });

/**
 * A ContextPool whose `run` and `runInContext` check the export name against
 * the worker module `M` (`typeof import('./worker.js')`) and infer the task
 * and result types from that export.
 */
export interface TypedContextPool<M> extends Omit<ContextPool, 'run' | 'runInContext'> {
  run<N extends HandlerName<M> = 'default' & HandlerName<M>>(
    task: TaskOf<M, N>,
    options?: TypedRunOptions<N>,
  ): Promise<ResultOf<M, N>>;
  runInContext<N extends HandlerName<M> = 'default' & HandlerName<M>>(
    task: TaskOf<M, N>,
    options: TypedRunOptions<N> &
      Omit<RunInContextOptions, keyof RunOptions> & { returnContext: true },
  ): Promise<WithContext<ResultOf<M, N>>>;
  runInContext<N extends HandlerName<M> = 'default' & HandlerName<M>>(
    task: TaskOf<M, N>,
    options?: TypedRunOptions<N> & Omit<RunInContextOptions, keyof RunOptions>,
  ): Promise<ResultOf<M, N>>;
}
