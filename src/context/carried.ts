import {
  ContextSerializationError,
  checkCodec,
  invalidArgType,
  invalidArgValue,
} from './errors.js';
import { pendingGet } from './pending.js';
import {
  type Arrived,
  assertUsable,
  type CarriedEntry,
  type ContextState,
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
  return registerCarried<T>({
    name,
    capture(): PendingEntry | undefined {
      const store = als.getStore();
      if (store === undefined) return undefined;
      return codec === undefined
        ? { value: store, coded: false }
        : { value: codec.encode(store), coded: true };
    },
    arrive: codec === undefined ? (arrived) => arrived.value as T : decoding(name, codec),
    restore: (value, fn) => als.run(value, fn),
  });
}

/**
 * The arrival of a store with a codec: the codec is the receiver's contract,
 * so a value the sender did not encode is refused, never handed over raw.
 */
function decoding<T>(name: string, codec: ContextVarCodec<T>): (arrived: PendingEntry) => T {
  return (arrived) => {
    if (!arrived.coded) {
      throw new ContextSerializationError(
        'ERR_CONTEXT_DESERIALIZE',
        `Cannot deserialize the context: carried store '${name}' has a codec here, and the ` +
          'value that arrived for it was not encoded by one',
        { varName: name },
      );
    }
    try {
      return codec.decode(arrived.value);
    } catch (cause) {
      throw new ContextSerializationError(
        'ERR_CONTEXT_DESERIALIZE',
        `The codec of carried store '${name}' failed to decode the value that arrived for it`,
        { varName: name, cause },
      );
    }
  };
}

/**
 * Registers something that travels with snapshots (see `CarriedEntry`); the
 * one mechanism behind `carry` and the integrations. Returns a function that
 * unregisters it.
 */
export function registerCarried<V>(entry: CarriedEntry<V>): () => void {
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
  state.carried.set(name, entry as CarriedEntry);
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

const NOTHING_ARRIVED: Arrived = Object.freeze([]);

/**
 * The arrival step, when a snapshot becomes `ctx` (a header is read, a task
 * or a job starts): each carried entry registered here reads what arrived
 * under its name, once (`CarriedEntry.arrive`), and `ctx`'s run restores
 * what it made of it. A refusal propagates: it refuses the whole arrival.
 * What arrived stays pending too, forwarded if the entry is unregistered.
 */
export function arrive(ctx: ContextState): void {
  const pending = ctx._pending;
  if (pending === null) {
    // Nothing arrived that a carried entry could read, now or once registered.
    ctx._arrived = null;
    return;
  }
  let arrived: unknown[] | undefined;
  for (const carried of state.carried.values()) {
    const entry = pendingGet(pending, carried.name);
    if (entry === undefined) continue;
    arrived ??= [];
    arrived.push(carried, carried.arrive(entry));
  }
  ctx._arrived = arrived ?? NOTHING_ARRIVED;
}

/**
 * `enter` for a context that arrived: calls `enterNow` with what arrived
 * carried restored around it, the first registered entry outermost. An
 * entry registered after the context arrived reads its pending value at
 * the first entry, once, and `ctx` keeps what it made of it.
 */
export function restoringCarried<R>(ctx: ContextState, enterNow: () => R): R {
  let run = enterNow;
  const entries = [...state.carried.values()];
  for (let i = entries.length - 1; i >= 0; i--) {
    const carried = entries[i] as CarriedEntry;
    const value = arrivedFor(ctx, carried);
    if (value === NOTHING) continue;
    const inner = run;
    run = () => carried.restore(value, inner);
  }
  return run();
}

const NOTHING = Symbol('nothing arrived');

/** What `carried` made of its arrived value in `ctx` (reading a late one now), or NOTHING. */
function arrivedFor(ctx: ContextState, carried: CarriedEntry): unknown {
  const arrived = ctx._arrived as Arrived;
  for (let i = 0; i < arrived.length; i += 2) if (arrived[i] === carried) return arrived[i + 1];
  const late = pendingGet(ctx._pending, carried.name);
  if (late === undefined) return NOTHING;
  const value = carried.arrive(late);
  ctx._arrived = [...arrived, carried, value];
  return value;
}
