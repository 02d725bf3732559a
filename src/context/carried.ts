import {
  ContextSerializationError,
  checkCodec,
  invalidArgType,
  invalidArgValue,
} from './errors.js';
import { type Pending, pendingGet } from './pending.js';
import {
  assertUsable,
  type CarriedEntry,
  type ContextVarCodec,
  type PendingEntry,
  state,
} from './state.js';

/** Options of `carry(als, options)`. */
export interface CarryOptions<T> {
  /** The name the store travels under: the same on both sides, distinct from every var's. */
  name: string;
  /**
   * Turns the store into plain data for the trip and back. Without one, the
   * store's value travels under the same rules as a var's (class instances
   * are refused, naming the store).
   */
  codec?: ContextVarCodec<T>;
}

/**
 * Carries an AsyncLocalStorage store with every snapshot made for sending:
 * its value in the calling code is read when a task is sent (pool, comlink,
 * queue) or a snapshot is made, and the receiver, which registers the same
 * name, runs the task inside `als.run(value, ...)`, so framework code there
 * finds its store. Each task gets its own copy; nothing is written back.
 * Returns a function that unregisters the store.
 *
 * `als` is an AsyncLocalStorage, or anything with its `getStore` and `run`: a
 * framework's public accessor over its own store, such as nestjs-cls's
 * `{ getStore: () => cls.get(), run: (store, fn) => cls.runWith(store, fn) }`.
 *
 * @example
 * const requestStore = new AsyncLocalStorage<{ requestId: string }>();
 * carry(requestStore, { name: 'app.request' }); // in the main thread and in the worker module
 */
export function carry<T>(
  als: { getStore(): T | undefined; run<R>(store: T, fn: () => R): R },
  options: CarryOptions<T>,
): () => void {
  assertUsable();
  if (
    typeof als !== 'object' ||
    als === null ||
    typeof (als as { getStore?: unknown }).getStore !== 'function' ||
    typeof (als as { run?: unknown }).run !== 'function'
  ) {
    throw invalidArgType(
      'als',
      'an AsyncLocalStorage (or an object with its getStore and run)',
      als,
    );
  }
  if (typeof options !== 'object' || options === null) {
    throw invalidArgType('options', 'an object with a name', options);
  }
  const { name, codec } = options;
  checkCodec(codec);
  return registerCarried({
    name,
    capture(): PendingEntry | undefined {
      const store = als.getStore();
      if (store === undefined) return undefined;
      return codec === undefined
        ? { value: store, coded: false }
        : { value: codec.encode(store), coded: true };
    },
    restore<R>(arrived: PendingEntry, fn: () => R): R {
      let value = arrived.value as T;
      if (arrived.coded && codec !== undefined) {
        try {
          value = codec.decode(arrived.value);
        } catch (cause) {
          throw new ContextSerializationError(
            'ERR_CONTEXT_DESERIALIZE',
            `The codec of carried store '${name}' failed to decode the value that arrived for it`,
            { varName: name, cause },
          );
        }
      }
      return als.run(value, fn);
    },
  });
}

/**
 * Registers something that travels with snapshots (see `CarriedEntry`); the
 * one mechanism behind `carry` and the integrations. Returns a function that
 * unregisters it.
 */
export function registerCarried(entry: CarriedEntry): () => void {
  const { name } = entry;
  if (typeof name !== 'string' || name === '') {
    throw invalidArgType('options.name', 'a non-empty string', name);
  }
  if (state.carried.has(name)) {
    throw invalidArgValue(
      'options.name',
      `is already carried in this thread: one name means one carried entry`,
      name,
    );
  }
  state.carried.set(name, entry);
  return () => {
    if (state.carried.get(name) === entry) state.carried.delete(name);
  };
}

/** The entry carried under `name` in this thread, if any. */
export function carriedEntry(name: string): CarriedEntry | undefined {
  return state.carried.get(name);
}

/** Every carried entry of this thread, in registration order. */
export function carriedEntries(): IterableIterator<CarriedEntry> {
  return state.carried.values();
}

/** Whether anything is carried in this thread: the per-task paths ask this first. */
export function isAnythingCarried(): boolean {
  return state.carried.size > 0;
}

/**
 * `enter` for a context that arrived in a snapshot: calls `enterNow` with the
 * carried entries whose values arrived restored around it, the first
 * registered outermost. `keepCurrent` leaves alone the entries the calling
 * code already holds a value of (a tracing span a queue's own telemetry made
 * active around a job).
 */
export function restoringCarried<R>(
  pending: Pending | null,
  enterNow: () => R,
  keepCurrent: boolean,
): R {
  let run = enterNow;
  const entries = [...state.carried.values()];
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i] as CarriedEntry;
    const arrived = pendingGet(pending, entry.name);
    if (arrived === undefined || (keepCurrent && entry.capture() !== undefined)) continue;
    const inner = run;
    run = () => entry.restore(arrived, inner);
  }
  return run();
}
