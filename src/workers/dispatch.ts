import type { Context } from '../context/index.js';
import { decodeThrown, isThrownRecords, limitsFor } from '../serialization/internal.js';
import { ContextPoolError, poolFailure } from './errors.js';
import { type FlushLine, newFlushLine } from './flush.js';
import { moduleUrl } from './handlers.js';
import { type Introductions, writeTask } from './protocol.js';
import { cloneRefusal } from './results.js';
import { type OutgoingSnapshot, type SnapshotFields, SnapshotSender } from './snapshots.js';

/** A task as piscina shows it to a load balancer. */
export interface BalancedTask {
  readonly isAbortable: boolean;
}

/** A worker as piscina shows it to a load balancer. */
export interface BalancedWorker {
  readonly id: number;
  readonly currentUsage: number;
  readonly isRunningAbortableTask: boolean;
}

/** piscina's `loadBalancer` option: picks the worker for a task, or null to keep it queued. */
export type LoadBalancer = (task: never, workers: never[]) => unknown;

const QUEUE_OPTIONS: unique symbol = Symbol.for('Piscina.queueOptions') as never;

/**
 * piscina's default policy, for pools given no `loadBalancer`: the first idle
 * worker, else the least busy one below `maximumUsage` that runs no abortable
 * task (an abortable task never shares a worker).
 */
export function leastBusy(maximumUsage: number) {
  return (task: BalancedTask, workers: readonly BalancedWorker[]) => {
    let chosen: BalancedWorker | null = null;
    let lowest = maximumUsage;
    for (const worker of workers) {
      if (worker.currentUsage === 0) return worker;
      if (worker.isRunningAbortableTask || task.isAbortable) continue;
      if (worker.currentUsage < lowest) {
        chosen = worker;
        lowest = worker.currentUsage;
      }
    }
    return chosen;
  };
}

/** A handler id and the module URL and export name it stands for. */
interface Handler {
  readonly id: number;
  readonly module: readonly [url: string, exportName: string];
}

/** What the pool knows a worker holds, and what it must tell it to forget. */
class WorkerRecord {
  /** Handler ids the worker has confirmed it knows (it answered a task introducing them). */
  readonly handlers = new Set<number>();
  /** Base ids the worker has confirmed it holds. */
  readonly bases = new Set<number>();
  /** Base ids sent to it, confirmed or not: those it may hold. */
  readonly sentBases = new Set<number>();
  /** Retired base ids it may hold: told to forget with its next task, until it answers one. */
  forget: number[] = [];
  /** Its flush line (flush.ts), handed over with its first task. */
  readonly flushLine = newFlushLine();
  /** It answered a task that handed it its flush line. */
  holdsFlushLine = false;
}

/** What one message told its worker: confirmed when the worker answers. */
interface Told {
  readonly record: WorkerRecord;
  readonly handler: number;
  readonly base: number;
  readonly forget: readonly number[] | undefined;
  readonly flushLine: boolean;
}

const FACTS = Symbol('contextvars.taskFacts');

/**
 * One task's message, as piscina queues and posts it: a plain array (the
 * layout of protocol.ts) whose prototype adds what piscina reads and never
 * clones. `Piscina.queueOptionsSymbol` gives a custom task queue the user's
 * queue options, and marks this message as the one piscina is about to
 * balance (piscina reads it right before calling the balancer). What the pool
 * knows of the task hangs under a symbol key, which structured clone skips.
 * (An Array subclass cost 280 ns more per task: V8's fast paths for array
 * construction and `push` stop at a non-initial prototype; an array made as
 * usual and given its prototype afterwards clones as fast as any.)
 */
export type TaskMessage = unknown[] & { readonly [FACTS]: TaskFacts };

const MESSAGE_PROTOTYPE: object = Object.create(Array.prototype, {
  [QUEUE_OPTIONS]: {
    get(this: TaskMessage): unknown {
      const facts = this[FACTS];
      facts.dispatcher.balancing = this;
      return facts.queueOptions;
    },
  },
});

function newMessage(facts: TaskFacts): TaskMessage {
  const message: unknown[] = [];
  writeMessage(message, facts, undefined);
  (message as { [FACTS]?: TaskFacts })[FACTS] = facts;
  Object.setPrototypeOf(message, MESSAGE_PROTOTYPE);
  return message as TaskMessage;
}

/** What the pool knows of the task a message carries (never posted). */
export function factsOf(message: TaskMessage): TaskFacts {
  return message[FACTS];
}

/** Writes the message's elements (into an empty array: a rewrite empties it first). */
function writeMessage(
  message: unknown[],
  facts: TaskFacts,
  introductions: Introductions | undefined,
): void {
  writeTask(
    message,
    facts.handler,
    facts.fields,
    facts.returnContext,
    facts.payload,
    introductions,
  );
}

/** A symbol cannot be cloned: a message holding one fails to post, and piscina rejects that task alone. */
const UNSENDABLE = Symbol('contextvars.unsendable');

/** One task, as the main thread knows it. */
export interface TaskFacts {
  readonly dispatcher: Dispatcher;
  readonly handler: number;
  readonly module: readonly [url: string, exportName: string];
  readonly snapshot: OutgoingSnapshot | null;
  /** The snapshot's fields as the message carries them: checked again when it is posted, if they can change. */
  fields: SnapshotFields | null;
  /** Why the task's context could not be posted as it was then (it rejects with this). */
  refusal: unknown;
  readonly returnContext: boolean;
  /** The user's payload, for naming what could not be sent. */
  readonly payload: unknown;
  readonly transferList: readonly unknown[];
  readonly queueOptions: unknown;
  /** What the message told the worker it was given to (undefined: nothing new). */
  told: Told | undefined;
}

function queueOptionsOf(payload: unknown): unknown {
  if ((typeof payload !== 'object' && typeof payload !== 'function') || payload === null)
    return null;
  return (payload as { [QUEUE_OPTIONS]?: unknown })[QUEUE_OPTIONS] ?? null;
}

/**
 * Turns tasks into messages and knows, per worker, which handler ids and
 * snapshot bases it holds. piscina calls its load balancer synchronously
 * right before it posts a task to the chosen worker; the dispatcher wraps
 * that balancer and, once the worker is chosen, completes the message for
 * that worker only: the module of a handler id it does not know, the entries
 * of a base it does not hold, the retired bases it may forget. So a task
 * never comes back through the caller's thread for something its worker
 * lacked (a caller blocked in `Atomics.wait` would never see it), and the
 * pool decides every eviction, so the two sides never disagree.
 *
 * A worker counts as holding what a message introduced only once it has
 * answered that message: a message piscina failed to post (a payload clone
 * refuses) taught the worker nothing, and the next task introduces it again.
 */
export class Dispatcher {
  readonly #records = new Map<number, WorkerRecord>();
  /** Handler ids by filename, then export name (with the module's URL). */
  readonly #handlerIds = new Map<string, Map<string, Handler>>();
  readonly #byUrl = new Map<string, Handler>();
  readonly #snapshots = new SnapshotSender(limitsFor('structured', {}), (id) => this.#retire(id));
  /** The message piscina is balancing now (set by its queue-options getter). */
  balancing: TaskMessage | undefined;
  /**
   * The message whose task the pool is submitting now: if piscina posts it
   * at once, its snapshot was taken in this same synchronous turn (only
   * piscina's code, and a custom balancer or queue, ran since), and is not
   * checked twice.
   */
  submitting: TaskMessage | undefined;
  /** The balancer piscina calls: the user's (or piscina's default policy), completing the message. */
  readonly balancer: (task: BalancedTask, workers: BalancedWorker[]) => unknown;

  constructor(inner: LoadBalancer) {
    const choose = inner as (task: BalancedTask, workers: BalancedWorker[]) => unknown;
    this.balancer = (task, workers) => {
      const message = this.balancing;
      this.balancing = undefined;
      const worker = choose(task, workers) as BalancedWorker | null | undefined;
      if (message !== undefined && typeof worker?.id === 'number')
        this.#address(message, worker.id);
      return worker;
    };
  }

  /** The message of one task; `context` null for an empty context (`pool.run`). */
  message(
    payload: unknown,
    filename: string,
    exportName: string,
    context: Context | null,
    returnContext: boolean,
    transferList: readonly unknown[],
  ): TaskMessage {
    const { id, module } = this.#handler(filename, exportName);
    const snapshot = context === null ? null : this.#snapshots.snapshotFor(context);
    return newMessage({
      dispatcher: this,
      handler: id,
      module,
      snapshot,
      fields: snapshot === null ? null : snapshot.fields,
      refusal: undefined,
      returnContext,
      payload,
      transferList,
      queueOptions: queueOptionsOf(payload),
      told: undefined,
    });
  }

  /** The id of a (module, export) pair: tasks name it instead of the URL. */
  #handler(filename: string, exportName: string): Handler {
    let byName = this.#handlerIds.get(filename);
    if (byName === undefined) {
      byName = new Map();
      this.#handlerIds.set(filename, byName);
    }
    let handler = byName.get(exportName);
    if (handler === undefined) {
      const url = moduleUrl(filename);
      // Two filenames for one module (a path and its URL) share the id.
      handler = this.#byUrl.get(`${exportName}\0${url}`) ?? {
        id: this.#byUrl.size + 1,
        module: [url, exportName],
      };
      this.#byUrl.set(`${exportName}\0${url}`, handler);
      byName.set(exportName, handler);
    }
    return handler;
  }

  /** A worker has ended: its record goes with it (thread ids are never reused). */
  workerGone(id: number): void {
    this.#records.delete(id);
  }

  /** The flush lines of the workers among `live` that were given one. */
  *flushLines(live: readonly number[]): Generator<FlushLine> {
    for (const id of live) {
      const record = this.#records.get(id);
      if (record !== undefined) yield record.flushLine;
    }
  }

  /** The worker answered `message`. */
  fulfilled(message: TaskMessage): void {
    this.#confirm(message);
  }

  /**
   * The task failed: its own throw arrives as records (the worker answered);
   * a task that could not be posted is named as such; anything else is
   * piscina's or the worker's death.
   */
  rejected(message: TaskMessage, error: unknown): never {
    if (message[0] === UNSENDABLE) throw message[FACTS].refusal;
    if (isThrownRecords(error)) {
      this.#confirm(message);
      throw decodeThrown(error);
    }
    if (error instanceof Error && error.name === 'DataCloneError') {
      throw unsendableTask(message, error);
    }
    throw poolFailure(error);
  }

  #confirm(message: TaskMessage): void {
    const told = message[FACTS].told;
    if (told === undefined) return;
    const { record } = told;
    if (told.handler !== 0) record.handlers.add(told.handler);
    // Retired meanwhile: the worker is being told to forget it.
    if (told.base !== 0 && record.sentBases.has(told.base)) record.bases.add(told.base);
    if (told.forget !== undefined) {
      record.forget = record.forget.filter((id) => !told.forget?.includes(id));
    }
    if (told.flushLine) record.holdsFlushLine = true;
  }

  #address(message: TaskMessage, workerId: number): void {
    const task = message[FACTS];
    const current = message === this.submitting ? undefined : task.snapshot?.current;
    const recheck = current !== undefined;
    if (recheck && !recheckContext(message, task, current)) return;
    let record = this.#records.get(workerId);
    if (record === undefined) {
      record = new WorkerRecord();
      this.#records.set(workerId, record);
    }
    const base = task.snapshot?.base;
    const needsModule = !record.handlers.has(task.handler);
    const needsBase = base !== undefined && !record.bases.has(base.id);
    const needsLine = !record.holdsFlushLine;
    const forget = record.forget.length > 0 ? [...record.forget] : undefined;
    if (!needsModule && !needsBase && !needsLine && forget === undefined) {
      // Balanced before (a custom balancer declined its choice), or its
      // context rechecked: post it bare, as it is now.
      if (task.told !== undefined || recheck) {
        task.told = undefined;
        message.length = 0;
        writeMessage(message, task, undefined);
      }
      return;
    }
    // A retired base is no longer kept by any worker: its entries serve this task only.
    const once = needsBase && base.retired;
    if (needsBase && !once) record.sentBases.add(base.id);
    message.length = 0;
    writeMessage(message, task, {
      ...(needsModule ? { module: task.module } : {}),
      ...(forget !== undefined ? { forget } : {}),
      ...(needsBase ? { baseEntries: base.entries, baseOnce: once } : {}),
      ...(needsLine ? { flushLine: record.flushLine } : {}),
    });
    task.told = {
      record,
      handler: needsModule ? task.handler : 0,
      base: needsBase && !once ? base.id : 0,
      forget,
      flushLine: needsLine,
    };
  }

  #retire(id: number): void {
    for (const record of this.#records.values()) {
      if (!record.sentBases.delete(id)) continue;
      record.bases.delete(id);
      record.forget.push(id);
    }
  }
}

/**
 * Checks again, right before piscina posts it, a task's context whose values
 * may have changed since the call (mutable objects are shared until posted):
 * the message then carries them as they are now. A refusal leaves a message
 * piscina cannot post, so that this task alone rejects, with the refusal.
 */
function recheckContext(
  message: TaskMessage,
  task: TaskFacts,
  current: () => SnapshotFields,
): boolean {
  try {
    task.fields = current();
    task.refusal = undefined;
    return true;
  } catch (error) {
    task.refusal = error;
    task.told = undefined;
    message.length = 0;
    message.push(UNSENDABLE);
    return false;
  }
}

/** The task itself could not be posted (a function in it...): name where. */
function unsendableTask(message: TaskMessage, cause: Error): ContextPoolError {
  const { payload, transferList } = message[FACTS];
  const refusal = cloneRefusal(payload, transferList) ?? cause.message;
  return new ContextPoolError(
    'ERR_TASK_ARGUMENT',
    `The task cannot be sent to a worker: ${refusal}`,
    {
      cause,
    },
  );
}
