import { AsyncLocalStorage } from 'node:async_hooks';
import { ContextError } from './errors.js';
import type { Hamt, HashedKey } from './hamt.js';
import type { Pending } from './pending.js';

/**
 * Per-thread state shared by every copy of this package loaded in the thread.
 * It lives on `globalThis` under a `Symbol.for` key, so two copies (nested
 * node_modules, a monorepo) see one AsyncLocalStorage, one root context and
 * one name registry. The objects below are read field by field by every copy:
 * changing a field's meaning means bumping `STATE_LAYOUT`.
 */
export const STATE_LAYOUT = 3;

/** What every copy may read and write on a Context. */
export interface ContextState {
  /** The immutable map of var -> value; replaced, never mutated. */
  _map: Hamt;
  /** Number of entries in `_map`. */
  _size: number;
  /** Entries that arrived from another thread for names no var here declares yet. */
  _pending: Pending | null;
  /** True while this context is entered (see `enter`). */
  _entered: boolean;
  /**
   * True while `_map`'s root node is referenced by this context alone (no copy,
   * snapshot or iterator shares it), so a write may overwrite it in place.
   */
  _owned: boolean;
  /**
   * For a context rebuilt from a snapshot that may hold carried entries
   * (stores, OpenTelemetry): what each carried entry made of its value when
   * the context arrived, as `entry, value` pairs. Its `run` restores them, the
   * same values at every entry. Null for any other context: copies made
   * inside inherit what was restored through async propagation.
   */
  _arrived: Arrived | null;
}

/**
 * What arrived carried with a context, read once: `entry, value` pairs
 * (`CarriedEntry`, what its `arrive` returned), flat. Replaced, never mutated.
 */
export type Arrived = readonly unknown[];

/**
 * Something that is not a ContextVar but travels with every snapshot made for
 * sending (an AsyncLocalStorage store, the OpenTelemetry context). Its name
 * shares the snapshot's name space with vars.
 *
 * Three steps: `capture` where a snapshot is made, `arrive` once where it
 * becomes a Context (a header is read, a task or a job starts), `restore` at
 * every entry of that Context, with what `arrive` returned.
 */
export interface CarriedEntry<V = unknown> {
  readonly name: string;
  /**
   * What the code running now has to carry, ready for the wire (`coded` when
   * a codec made it), or undefined for nothing. Read when a snapshot is made.
   */
  capture(): PendingEntry | undefined;
  /**
   * Reads what arrived for this entry, once per arrival: decodes and checks
   * it. Throws `ContextSerializationError` `ERR_CONTEXT_DESERIALIZE` naming
   * the entry to refuse the whole arrival.
   */
  arrive(arrived: PendingEntry): V;
  /**
   * Calls `fn` with `value` (what `arrive` returned) restored around it; the
   * same value at each entry of the arrived context, so what one entry
   * writes to it the next one sees.
   */
  restore<R>(value: V, fn: () => R): R;
  /**
   * Sends on what tasks that restored this entry produced (ended spans), so
   * none is lost when a worker thread stops.
   */
  flush?(): Promise<void>;
}

/** A value that arrived for a name no var had declared; `coded` means a sender's codec encoded it. */
export interface PendingEntry {
  readonly value: unknown;
  readonly coded: boolean;
}

/** A value's wire form and back, for class instances that cannot cross threads as they are. */
export interface ContextVarCodec<T> {
  encode(value: T): unknown;
  decode(raw: unknown): T;
}

/** What every copy may read and write on a ContextVar. */
export interface VarState extends HashedKey {
  readonly _name: string;
  readonly _propagate: boolean;
  readonly _codec: ContextVarCodec<unknown> | undefined;
}

interface SharedState {
  readonly layout: number;
  /** URL of the module copy that created this state, for error messages. */
  readonly origin: string;
  readonly als: AsyncLocalStorage<ContextState>;
  root: ContextState | null;
  nextHash: number;
  /** Live propagating vars by name, held weakly. */
  readonly registry: Map<string, Set<WeakRef<VarState>>>;
  readonly registryCleanup: FinalizationRegistry<{ name: string; ref: WeakRef<VarState> }>;
  /** Carried entries by name, in registration order. */
  readonly carried: Map<string, CarriedEntry>;
  /**
   * Live non-propagating vars by name, held weakly: names that never leave
   * this thread. Made at the first such var (a copy of the package that
   * predates it leaves it out: optional, so the layout is unchanged).
   */
  localNames?: LocalNames;
}

/** Live `propagate: false` vars by name, and how many were ever declared (a cache's version). */
export interface LocalNames {
  readonly vars: Map<string, Set<WeakRef<VarState>>>;
  readonly cleanup: FinalizationRegistry<{ name: string; ref: WeakRef<VarState> }>;
  declarations: number;
}

const STATE_KEY = Symbol.for('contextvars.state');

function createState(): SharedState {
  const registry = new Map<string, Set<WeakRef<VarState>>>();
  return {
    layout: STATE_LAYOUT,
    origin: import.meta.url,
    als: new AsyncLocalStorage<ContextState>(),
    root: null,
    nextHash: 0,
    registry,
    carried: new Map(),
    registryCleanup: new FinalizationRegistry(({ name, ref }) => {
      const refs = registry.get(name);
      refs?.delete(ref);
      if (refs?.size === 0) registry.delete(name);
    }),
  };
}

const global = globalThis as typeof globalThis & { [STATE_KEY]?: SharedState };
let layoutConflict: ContextError | undefined;

function attachState(): SharedState {
  const existing = global[STATE_KEY];
  if (existing === undefined) {
    const created = createState();
    Object.defineProperty(global, STATE_KEY, { value: created });
    return created;
  }
  if (existing.layout === STATE_LAYOUT) return existing;
  layoutConflict = new ContextError(
    'ERR_STATE_LAYOUT',
    `Two incompatible copies of contextvars are loaded in this thread: state layout ` +
      `${existing.layout} from ${existing.origin} and layout ${STATE_LAYOUT} from ` +
      `${import.meta.url}. Deduplicate the package (npm dedupe) so one version is loaded.`,
  );
  // This copy keeps a private state so importing it never throws; first use does.
  return createState();
}

export const state: SharedState = attachState();

/** Throws the layout conflict, if this copy found one when it loaded. */
export function assertUsable(): void {
  if (layoutConflict !== undefined) throw layoutConflict;
}

/** A fresh 32-bit hash, unique across every copy in the thread until 2^32 vars. */
export function nextHash(): number {
  const hash = state.nextHash;
  state.nextHash = (hash + 1) >>> 0;
  return hash;
}
