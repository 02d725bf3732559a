import { Context } from '../context/index.js';
import {
  type ContextState,
  copyOf,
  type Hamt,
  type HashedKey,
  hamtDiff,
  hamtForEach,
  type Pending,
  type VarState,
  viewOf,
} from '../context/internal.js';
import {
  applyChanges,
  contextFromEntries,
  ENTRY_FLAG,
  encodeEntries,
  encodeValue,
  entryBytes,
  type Limits,
  readEntries,
} from '../serialization/internal.js';

/**
 * How a task's context travels. Encoding and cloning a whole snapshot for
 * every task would cost more than the task's trip itself, so each worker
 * keeps *bases*: snapshots whose values are all primitives or deep-frozen
 * data (safe to share between tasks). A task then carries a base's id and
 * only the entries that differ from it; the first task with a new base also
 * carries the base. A worker that lacks the base (started later, or evicted
 * it) answers with a miss and the pool sends the task again with the base.
 * A snapshot holding mutable values travels whole, so every task gets its
 * own copies.
 */
export interface SnapshotFields {
  /** The whole snapshot's entries: nothing cached. */
  readonly e?: readonly unknown[];
  /** The id of the base the rest is relative to. */
  readonly b?: number;
  /** The base's entries, for a worker that does not have it yet. */
  readonly be?: readonly unknown[];
  /** Entries that differ from the base (`name, flags, payload` ...). */
  readonly d?: readonly unknown[];
  /** Names the base has and this snapshot does not. */
  readonly r?: readonly string[];
}

interface Base {
  readonly id: number;
  readonly map: Hamt;
  readonly size: number;
  readonly pending: Pending | null;
  readonly entries: readonly unknown[];
  readonly owners: ReadonlyMap<string, VarState>;
  readonly bytes: number;
}

/** More differences than this, and a snapshot becomes a base of its own. */
const MAX_CHANGES = 8;
/** Bases a pool diffs against, most recent first. */
const BASES_KEPT = 4;

export class SnapshotSender {
  readonly #limits: Limits;
  readonly #bases: Base[] = [];
  #nextId = 1;

  constructor(limits: Limits) {
    this.#limits = limits;
  }

  /** The snapshot fields of a task that runs in a copy of `ctx`. */
  fieldsFor(ctx: ContextState): SnapshotFields {
    const view = viewOf(ctx);
    for (const base of this.#bases) {
      // A base of another size cannot be a few changes away: no diff needed.
      if (base.pending !== view.pending || Math.abs(base.size - view.size) > MAX_CHANGES) continue;
      const delta = this.#deltaFrom(base, view.map);
      if (delta !== undefined) {
        this.#promote(base);
        return delta;
      }
    }
    const encoded = encodeEntries(ctx, 'structured', this.#limits);
    if (!encoded.cacheable) return { e: encoded.entries };
    const base: Base = {
      id: this.#nextId++,
      map: view.map,
      size: view.size,
      pending: view.pending,
      entries: encoded.entries,
      owners: ownersOf(view.map),
      bytes: encoded.bytes,
    };
    this.#bases.unshift(base);
    this.#bases.length = Math.min(this.#bases.length, BASES_KEPT);
    return { b: base.id, be: base.entries };
  }

  /** The same fields with the base included, for a worker that missed it. */
  withBase(fields: SnapshotFields, ctx: ContextState): SnapshotFields {
    if (fields.b === undefined || fields.be !== undefined) return fields;
    const base = this.#bases.find((candidate) => candidate.id === fields.b);
    if (base !== undefined) return { ...fields, be: base.entries };
    // The base is gone here too: send the whole snapshot.
    return { e: encodeEntries(ctx, 'structured', this.#limits).entries };
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
    const changed: Array<[VarState, unknown]> = [];
    const removed: VarState[] = [];
    const tooMany = hamtDiff(
      base.map,
      map,
      (key, value) => {
        const variable = key as VarState;
        if (variable._propagate) changed.push([variable, value]);
        return changed.length + removed.length > MAX_CHANGES;
      },
      (key: HashedKey) => {
        const variable = key as VarState;
        if (variable._propagate) removed.push(variable);
        return changed.length + removed.length > MAX_CHANGES;
      },
    );
    if (tooMany) return undefined;
    if (changed.length === 0 && removed.length === 0) return { b: base.id };
    const d: unknown[] = [];
    let bytes = base.bytes;
    const names = new Set<string>();
    for (const [variable, value] of changed) {
      const name = variable._name;
      const owner = base.owners.get(name);
      if (variable._codec !== undefined || names.has(name)) return undefined;
      if (owner !== undefined && owner !== variable && !removed.includes(owner)) return undefined;
      names.add(name);
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
      d.push(name, encoded.flags, encoded.payload);
    }
    if (bytes > this.#limits.maxBytes) return undefined;
    return {
      b: base.id,
      ...(d.length > 0 ? { d } : {}),
      ...(removed.length > 0 ? { r: removed.map((variable) => variable._name) } : {}),
    };
  }
}

function ownersOf(map: Hamt): Map<string, VarState> {
  const owners = new Map<string, VarState>();
  hamtForEach(map, (key) => {
    const variable = key as VarState;
    if (variable._propagate) owners.set(variable._name, variable);
  });
  return owners;
}

/** Bases a worker keeps, least recently used first out. */
const BASES_CACHED = 32;

/** The worker side: rebuilds each task's context from the fields, keeping bases. */
export class SnapshotReceiver {
  readonly #bases = new Map<number, Context>();
  readonly #limits: Limits;

  constructor(limits: Limits) {
    this.#limits = limits;
  }

  /**
   * A fresh Context for one task (an empty one for null fields), or undefined
   * when the fields name a base this worker does not have. Only this package
   * writes these fields, and its main side enforced the limits: payloads are
   * decoded without a second walk.
   */
  contextFor(fields: SnapshotFields | null): Context | undefined {
    if (fields === null) return new Context();
    if (fields.b === undefined) {
      return contextFromEntries(readEntries(fields.e ?? [], this.#limits, 'none'));
    }
    const id = fields.b;
    let base = this.#bases.get(id);
    if (base === undefined) {
      if (fields.be === undefined) return undefined;
      base = contextFromEntries(readEntries(fields.be, this.#limits, 'none'));
      if (this.#bases.size >= BASES_CACHED)
        this.#bases.delete(this.#bases.keys().next().value as number);
    } else {
      this.#bases.delete(id);
    }
    this.#bases.set(id, base);
    // The base's values are primitives or deep-frozen: the copy may share them.
    const ctx = copyOf(base);
    if (fields.d !== undefined || fields.r !== undefined) {
      applyChanges(
        ctx,
        fields.d === undefined ? [] : readEntries(fields.d, this.#limits, 'none'),
        fields.r ?? [],
      );
    }
    return ctx;
  }
}
