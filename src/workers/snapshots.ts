import { Context } from '../context/index.js';
import {
  arrive,
  type ContextState,
  copyOf,
  type Hamt,
  type HashedKey,
  hamtDiff,
  hamtForEach,
  localDeclarations,
  type Pending,
  type VarState,
  viewOf,
} from '../context/internal.js';
import {
  applyChanges,
  contextFromEntries,
  ENTRY_FLAG,
  type EncodedEntries,
  encodeCarried,
  encodeEntries,
  encodeValue,
  entryBytes,
  LIST_OVERHEAD,
  type Limits,
  readEntries,
  refreshEntries,
} from '../serialization/internal.js';

/**
 * How a task's context travels. Encoding and cloning a whole snapshot for
 * every task would cost more than the task's trip itself, so each worker
 * keeps *bases*: snapshots whose values are all primitives or deep-frozen
 * data (safe to share between tasks). A task then names a base and carries
 * only the entries that differ from it. The pool knows which bases each
 * worker holds and adds a base's entries to a task given to a worker that
 * lacks it (dispatch.ts), so a worker never misses one. A snapshot holding
 * mutable values travels whole, so every task gets its own copies.
 */
export interface SnapshotFields {
  /** The whole snapshot's entries: nothing cached. */
  readonly entries?: readonly unknown[] | undefined;
  /** The id of the base the rest is relative to. */
  readonly baseId?: number | undefined;
  /** Entries that differ from the base (`name, flags, payload` ...). */
  readonly changes?: readonly unknown[] | undefined;
  /** Names the base has and this snapshot does not. */
  readonly removed?: readonly string[] | undefined;
}

/** A task's snapshot fields, with the base they name (the pool adds its entries where needed). */
export interface OutgoingSnapshot {
  readonly fields: SnapshotFields;
  readonly base: SentBase | undefined;
  /**
   * Present when the fields hold mutable objects, which are shared by
   * reference until piscina posts the task: the fields as those values are
   * now, checked again under the rules of the call (throws
   * `ERR_CONTEXT_SERIALIZE` naming the var or store). Primitives and
   * deep-frozen data cannot change, so their snapshots have none.
   */
  readonly current: (() => SnapshotFields) | undefined;
}

/** What the dispatcher needs of a base: its id, its entries, and whether the sender still keeps it. */
export interface SentBase {
  readonly id: number;
  readonly entries: readonly unknown[];
  /** No later task names it: workers may forget it. */
  readonly retired: boolean;
}

interface Base extends SentBase {
  readonly map: Hamt;
  readonly size: number;
  readonly pending: Pending | null;
  /** `localDeclarations()` when made: its pending entries hold no name declared propagate: false since. */
  readonly locals: number;
  readonly entries: readonly unknown[];
  readonly owners: ReadonlyMap<string, VarState>;
  readonly bytes: number;
  retired: boolean;
}

/**
 * More differences than this, and a snapshot becomes a base of its own. A
 * request's context differs from the startup context by a handful of vars
 * (id, user, tenant, deadline...); past that, the changes cost as much to
 * clone as the base itself (structured clone: about 35 ns per element), and
 * the diff stops early instead of walking the rest.
 */
const MAX_CHANGES = 8;
/**
 * Bases a pool diffs against, most recent first. Each snapshot is tried
 * against every kept base until one is close enough, so this bounds the work
 * per task; a few cover a server's usual shapes of context (anonymous,
 * signed in, an admin tool...), and each retired base costs workers a
 * message to forget it.
 */
const BASES_KEPT = 4;

/**
 * The main side: the snapshot fields of each task, against the few bases it
 * keeps (most recently used first); a base pushed out is retired for good.
 */
export class SnapshotSender {
  readonly #limits: Limits;
  readonly #bases: Base[] = [];
  readonly #onRetire: (id: number) => void;
  #nextId = 1;

  /** `onRetire(id)`: the base `id` is dropped here, and no later task will name it. */
  constructor(limits: Limits, onRetire: (id: number) => void) {
    this.#limits = limits;
    this.#onRetire = onRetire;
  }

  /**
   * The snapshot fields of a task that runs in a copy of `ctx`. What the
   * calling code carries (stores, OpenTelemetry) changes with every call: it
   * travels beside the context's own entries, as changes, never in a base.
   */
  snapshotFor(ctx: ContextState): OutgoingSnapshot {
    const view = viewOf(ctx);
    const carried = encodeCarried(this.#limits);
    for (const base of this.#bases) {
      // A base of another size cannot be a few changes away: no diff needed.
      if (base.pending !== view.pending || Math.abs(base.size - view.size) > MAX_CHANGES) continue;
      if (base.pending !== null && base.locals !== localDeclarations()) continue;
      if (carried !== null && !fitsBeside(base, carried, this.#limits)) continue;
      const delta = this.#deltaFrom(base, view.map);
      if (delta !== undefined) {
        this.#promote(base);
        return this.#beside(delta, base, carried);
      }
    }
    const encoded = encodeEntries(ctx, 'structured', this.#limits, false);
    if (carried !== null && !fitsBeside(encoded, carried, this.#limits)) {
      // A name both carry, or too large together: the whole encoding says which.
      encodeEntries(ctx, 'structured', this.#limits);
    }
    if (!encoded.cacheable) {
      const entries = carried === null ? encoded.entries : [...encoded.entries, ...carried.entries];
      const live = encoded.live !== undefined || carried?.live !== undefined;
      return {
        fields: { entries },
        base: undefined,
        current: live ? () => this.#wholeNow(encoded, carried) : undefined,
      };
    }
    const base: Base = {
      id: this.#nextId++,
      map: view.map,
      size: view.size,
      pending: view.pending,
      locals: localDeclarations(),
      entries: encoded.entries,
      owners: ownersOf(view.map),
      bytes: encoded.bytes,
      retired: false,
    };
    this.#bases.unshift(base);
    for (const old of this.#bases.splice(BASES_KEPT)) {
      old.retired = true;
      this.#onRetire(old.id);
    }
    return this.#beside({ baseId: base.id }, base, carried);
  }

  /** Fields relative to `base`, with what the calling code carries beside them. */
  #beside(fields: SnapshotFields, base: Base, carried: EncodedEntries | null): OutgoingSnapshot {
    const live = carried?.live !== undefined;
    return {
      fields: withCarried(fields, carried),
      base,
      current: live
        ? () =>
            withCarried(
              fields,
              refreshEntries(carried as EncodedEntries, this.#limits, base.bytes - LIST_OVERHEAD),
            )
        : undefined,
    };
  }

  /** A whole snapshot's entries as their values are now, within maxBytes together. */
  #wholeNow(own: EncodedEntries, carried: EncodedEntries | null): SnapshotFields {
    if (carried === null) return { entries: refreshEntries(own, this.#limits).entries };
    // What does not change counts as it did; what may is counted now, the total last.
    const ownNow =
      carried.live === undefined
        ? refreshEntries(own, this.#limits, carried.bytes - LIST_OVERHEAD)
        : refreshEntries(own, this.#limits);
    const carriedNow = refreshEntries(carried, this.#limits, ownNow.bytes - LIST_OVERHEAD);
    return { entries: [...ownNow.entries, ...carriedNow.entries] };
  }

  #promote(base: Base): void {
    const at = this.#bases.indexOf(base);
    if (at > 0) this.#bases.unshift(...this.#bases.splice(at, 1));
  }

  /**
   * The difference from `base`, or undefined when it is not worth sending as
   * one: too many changes, a value that is not cacheable (mutable, or a
   * codec's), or anything the whole encoding would refuse (it will say why).
   */
  #deltaFrom(base: Base, map: Hamt): SnapshotFields | undefined {
    // Changed vars and their values side by side, then removed vars: at most
    // MAX_CHANGES of them, so plain arrays and linear scans beat sets here.
    const changed: unknown[] = [];
    const removed: VarState[] = [];
    const tooMany = hamtDiff(
      base.map,
      map,
      (key, value) => {
        if ((key as VarState)._propagate) changed.push(key, value);
        return changed.length / 2 + removed.length > MAX_CHANGES;
      },
      (key: HashedKey) => {
        if ((key as VarState)._propagate) removed.push(key as VarState);
        return changed.length / 2 + removed.length > MAX_CHANGES;
      },
    );
    if (tooMany) return undefined;
    if (changed.length === 0 && removed.length === 0) return { baseId: base.id };
    const changes: unknown[] = [];
    let bytes = base.bytes;
    for (let i = 0; i < changed.length; i += 2) {
      const variable = changed[i] as VarState;
      const value = changed[i + 1];
      const name = variable._name;
      if (variable._codec !== undefined || hasName(changes, name)) return undefined;
      const owner = base.owners.get(name);
      if (owner !== undefined && owner !== variable && !removed.includes(owner)) return undefined;
      let encoded: ReturnType<typeof encodeValue>;
      try {
        encoded = encodeValue(value, 'structured', this.#limits);
      } catch {
        return undefined;
      }
      const cacheable =
        typeof value !== 'object' || value === null || (encoded.flags & ENTRY_FLAG.frozen) !== 0;
      if (!cacheable) return undefined;
      bytes += entryBytes(name, encoded.bytes);
      changes.push(name, encoded.flags, encoded.payload);
    }
    if (bytes > this.#limits.maxBytes) return undefined;
    const fields: { -readonly [K in keyof SnapshotFields]: SnapshotFields[K] } = {
      baseId: base.id,
    };
    if (changes.length > 0) fields.changes = changes;
    if (removed.length > 0) fields.removed = removed.map((variable) => variable._name);
    return fields;
  }
}

/**
 * Whether carried entries may travel beside a base's (or a context's) own:
 * no name in both, and within maxBytes together (a delta's few changes are
 * checked again with it).
 */
function fitsBeside(
  own: { readonly entries: readonly unknown[]; readonly bytes: number },
  carried: EncodedEntries,
  limits: Limits,
): boolean {
  if (own.bytes + carried.bytes - LIST_OVERHEAD > limits.maxBytes) return false;
  for (let i = 0; i < carried.entries.length; i += 3) {
    if (hasName(own.entries, carried.entries[i] as string)) return false;
  }
  return true;
}

/** `fields` with the carried entries added to its changes. */
function withCarried(fields: SnapshotFields, carried: EncodedEntries | null): SnapshotFields {
  if (carried === null) return fields;
  const changes =
    fields.changes === undefined ? carried.entries : [...fields.changes, ...carried.entries];
  // A literal, not a spread: a spread makes a new hidden class per call on Node 20.
  return { baseId: fields.baseId, changes, removed: fields.removed };
}

/** Whether `changes` (`name, flags, payload` ...) already names `name`. */
function hasName(changes: readonly unknown[], name: string): boolean {
  for (let i = 0; i < changes.length; i += 3) if (changes[i] === name) return true;
  return false;
}

function ownersOf(map: Hamt): Map<string, VarState> {
  const owners = new Map<string, VarState>();
  hamtForEach(map, (key) => {
    const variable = key as VarState;
    if (variable._propagate) owners.set(variable._name, variable);
  });
  return owners;
}

/** A base as a worker holds it: its entries, decoded at first use. */
interface HeldBase {
  readonly entries: readonly unknown[];
  context: Context | undefined;
  /** The `declarations` count when it was decoded. */
  declarations: number;
}

/**
 * The worker side: keeps the bases the pool sends (and forgets those it is
 * told to), and rebuilds each task's context from its fields.
 */
export class SnapshotReceiver {
  readonly #bases = new Map<number, HeldBase>();
  readonly #limits: Limits;
  readonly #declarations: () => number;

  /**
   * `declarations()` counts the modules that declared vars here so far: a
   * base decoded before a module declared a second var of one of its names
   * is decoded again, so that it is refused as a fresh one would be.
   */
  constructor(limits: Limits, declarations: () => number) {
    this.#limits = limits;
    this.#declarations = declarations;
  }

  /** Keeps a base's entries (decoded at first use, when the task's module has declared its vars). */
  keep(id: number, entries: readonly unknown[]): void {
    this.#bases.set(id, { entries, context: undefined, declarations: -1 });
  }

  forget(ids: readonly number[]): void {
    for (const id of ids) this.#bases.delete(id);
  }

  /**
   * A fresh Context for one task (an empty one for null fields). `baseOnce`:
   * the entries of a base this task alone uses. Only this package writes
   * these fields, and its main side enforced the limits: payloads are decoded
   * without a second walk.
   */
  contextFor(fields: SnapshotFields | null, baseOnce: readonly unknown[] | undefined): Context {
    if (fields === null) return new Context();
    if (fields.baseId === undefined) return this.#decode(fields.entries ?? []);
    const ctx = copyOf(baseOnce === undefined ? this.#base(fields.baseId) : this.#decode(baseOnce));
    if (fields.changes !== undefined || fields.removed !== undefined) {
      applyChanges(
        ctx,
        fields.changes === undefined ? [] : readEntries(fields.changes, this.#limits, 'none'),
        fields.removed ?? [],
      );
    }
    // The task's carried entries are read now, once, for this task alone: a
    // refusal refuses the task before it starts.
    arrive(ctx);
    return ctx;
  }

  #base(id: number): Context {
    const held = this.#bases.get(id);
    // The pool sends every base with the first task that names it here.
    if (held === undefined) throw new Error(`internal: base ${id} was never sent to this worker`);
    const declarations = this.#declarations();
    if (held.context === undefined || held.declarations !== declarations) {
      held.context = this.#decode(held.entries);
      held.declarations = declarations;
    }
    // The base's values are primitives or deep-frozen: the copy may share them.
    return held.context;
  }

  #decode(entries: readonly unknown[]): Context {
    return contextFromEntries(readEntries(entries, this.#limits, 'none'));
  }
}
