import { BRAND, brandPrototype, hasBrand } from './brand.js';
import { arrive, restoringCarried } from './carried.js';
import type { ContextVar } from './context-var.js';
import { ContextError, ContextSerializationError, invalidArgType } from './errors.js';
import {
  ABSENT,
  type Hamt,
  type HamtNode,
  hamtDelete,
  hamtEntries,
  hamtFromEntries,
  hamtGet,
  hamtOverwriteRoot,
  hamtSet,
} from './hamt.js';
import { type Pending, pendingGet, pendingWith } from './pending.js';
import {
  type Arrived,
  assertUsable,
  type ContextState,
  type PendingEntry,
  state,
  type VarState,
} from './state.js';

const als = state.als;

/**
 * A mapping of ContextVars to values (Python's `contextvars.Context`).
 *
 * `run(fn)` makes it the current context for fn's synchronous run and for
 * every promise reaction, timer and callback started inside it. `set` on a var
 * changes the current Context object in place: everything sharing that object
 * sees the change. Isolation comes from copies (`copy()`, `copyContext()`,
 * `createTask`, `bind`), which are O(1).
 *
 * The mapping API (`get`, `has`, `size`, iteration) ignores var defaults and
 * lists ordinary entries only; iteration order is unspecified.
 *
 * @example
 * const ctx = copyContext();
 * ctx.run(() => requestId.set('r-2'));
 * requestId.get();        // unchanged here
 * ctx.get(requestId);     // 'r-2'
 */
export class Context implements Iterable<[ContextVar<unknown>, unknown]> {
  /** @internal */ _map: Hamt = null;
  /** @internal */ _size = 0;
  /** @internal */ _pending: Pending | null = null;
  /** @internal */ _entered = false;
  /** @internal */ _owned = false;
  /** @internal */ _arrived: Arrived | null = null;

  /** An empty context. */
  constructor() {
    // biome-ignore lint/complexity/noArguments: copies are made through here; no rest array
    const given = arguments;
    if (given.length > 0) {
      throw invalidArgType('arguments', 'empty: new Context() takes no arguments', given[0]);
    }
  }

  /**
   * Calls `fn(...args)` with this context current and returns its result.
   * Changes fn makes to vars stay in this context, even when fn throws.
   * Throws `ContextError` `ERR_CONTEXT_ENTERED` if this context is already
   * entered: a run of it is on the stack, or the calling code runs in it.
   */
  run<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
    if (typeof fn !== 'function') throw invalidArgType('fn', 'of type function', fn);
    return enter(this, fn, args);
  }

  /** A shallow copy: same values, independent from now on. O(1). */
  copy(): Context {
    return copyOf(this);
  }

  /** The value of `variable` in this context, else `fallback` (the var's default is ignored). */
  get<T>(variable: ContextVar<T>): T | undefined;
  get<T, D>(variable: ContextVar<T>, fallback: D): T | D;
  get(variable: ContextVar<unknown>, fallback?: unknown): unknown {
    const value = entryOf(this, checkVar(variable));
    return value === ABSENT ? fallback : value;
  }

  /** Whether `variable` has a value in this context (the var's default does not count). */
  has(variable: ContextVar<unknown>): boolean {
    return entryOf(this, checkVar(variable)) !== ABSENT;
  }

  /** Number of vars with a value in this context. */
  get size(): number {
    return this._size;
  }

  entries(): IterableIterator<[ContextVar<unknown>, unknown]> {
    // Iterate the map as it is now: sets made meanwhile fork a new map.
    shareMap(this);
    return hamtEntries(this._map) as IterableIterator<[ContextVar<unknown>, unknown]>;
  }

  keys(): IterableIterator<ContextVar<unknown>> {
    return pick(this.entries(), 0);
  }

  values(): IterableIterator<unknown> {
    return pick(this.entries(), 1);
  }

  [Symbol.iterator](): IterableIterator<[ContextVar<unknown>, unknown]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'Context';
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, BRAND.context);
  }
}
brandPrototype(Context, BRAND.context);

function* pick<T extends unknown[], I extends number>(
  entries: Iterable<T>,
  index: I,
): Generator<T[I], void, undefined> {
  for (const entry of entries) yield entry[index];
}

/** `value` as a Context (of any copy of this package), else ERR_INVALID_ARG_TYPE naming `argument`. */
export function checkContext(value: unknown, argument: string): Context {
  if (!hasBrand(value, BRAND.context)) throw invalidArgType(argument, 'a Context', value);
  return value as Context;
}

function checkVar(variable: unknown): VarState {
  if (!hasBrand(variable, BRAND.contextVar)) {
    throw invalidArgType('variable', 'a ContextVar', variable);
  }
  return variable as VarState;
}

/** The root context of this thread, used by code outside any run. */
state.root ??= new Context();
export const root: ContextState = state.root;

/** The context current at this point of the program. */
export function current(): ContextState {
  return als.getStore() ?? root;
}

/** A new Context holding the same entries as `source`. */
export function copyOf(source: ContextState): Context {
  shareMap(source);
  const copy = new Context();
  copy._map = source._map;
  copy._size = source._size;
  copy._pending = source._pending;
  return copy;
}

/**
 * A new Context holding exactly these entries (distinct vars), and
 * pending entries: a context that arrived, whose carried entries read what
 * arrived for them now (see `arrive`) and whose `run` restores them.
 */
export function contextOf(
  vars: readonly VarState[],
  values: readonly unknown[],
  pending: Pending | null,
): Context {
  const ctx = new Context();
  ctx._map = hamtFromEntries(vars, values);
  ctx._size = vars.length;
  ctx._owned = ctx._map !== null;
  ctx._pending = pending;
  arrive(ctx);
  return ctx;
}

/**
 * A shallow copy of the current context (Python's `copy_context()`), O(1)
 * whatever the number of vars set.
 */
export function copyContext(): Context {
  assertUsable();
  return copyOf(current());
}

/**
 * Calls `fn(...args)` with `ctx` current. "Entered" follows CPython, where a
 * Task's context is entered during each of its steps: `ctx` is entered while a
 * run of it is on the stack, in any continuation running in it, and in any run
 * nested synchronously inside such a continuation. Marking the outer context
 * for the length of the call covers the last case without keeping anything
 * per continuation.
 */
export function enter<A extends unknown[], R>(
  ctx: ContextState,
  fn: (...args: A) => R,
  args: A,
): R {
  assertUsable();
  const outer = current();
  if (ctx._entered || outer === ctx) {
    throw new ContextError(
      'ERR_CONTEXT_ENTERED',
      'cannot enter context: it is already entered (a run of it is on the stack, or this code runs in it)',
    );
  }
  const outerWasEntered = outer._entered;
  ctx._entered = true;
  outer._entered = true;
  try {
    if (ctx._arrived !== null && state.carried.size > 0) return enterRestoring(ctx, fn, args);
    // Spreading an empty rest array through here costs more than als.run itself.
    return args.length === 0 ? als.run(ctx, fn as () => R) : als.run(ctx, fn, ...args);
  } finally {
    ctx._entered = false;
    outer._entered = outerWasEntered;
  }
}

/**
 * The carried entries' restores around `als.run`. A function of its own: a
 * closure inside `enter` would make every call of `enter` allocate the
 * variables it captures, whether or not this path is taken.
 */
function enterRestoring<A extends unknown[], R>(
  ctx: ContextState,
  fn: (...args: A) => R,
  args: A,
): R {
  return restoringCarried(ctx, () => als.run(ctx, fn, ...args));
}

/**
 * Calls `fn` in `ctx` as a callback of it (an event a server emits for a
 * request): directly where `ctx` is already current or entered (the event
 * is emitted synchronously inside its run), else inside a run of `ctx`.
 */
export function runAsCallback<R>(ctx: ContextState, fn: () => R): R {
  if (ctx._entered || current() === ctx) return fn();
  return enter(ctx, fn, []);
}

/** The value of `variable` in `ctx`, adopting a pending entry of its name; ABSENT if none. */
export function entryOf(ctx: ContextState, variable: VarState): unknown {
  const value = hamtGet(ctx._map, variable);
  return value === ABSENT ? adoptPending(ctx, variable) : value;
}

/**
 * Makes a pending entry named like `variable` an ordinary entry of it, decoded
 * as `decodeArrived` decodes; returns the value, or ABSENT. Non-propagating
 * vars never adopt: nothing from outside may set them.
 */
export function adoptPending(ctx: ContextState, variable: VarState): unknown {
  const pending = ctx._pending;
  if (pending === null || !variable._propagate) return ABSENT;
  const entry = pendingGet(pending, variable._name);
  if (entry === undefined) return ABSENT;
  const value = decodeArrived(variable, entry.value, entry.coded);
  ctx._pending = pendingWith(pending, variable._name, undefined);
  bindValue(ctx, variable, value, false);
  return value;
}

/**
 * The value that arrived for `variable` (`coded`: a sender's codec encoded
 * it). The receiver's codec is its contract: a var with a codec decodes
 * what arrives, and refuses a value no codec encoded, so it is never handed
 * something raw; a var without one takes the value as it arrived.
 */
export function decodeArrived(variable: VarState, raw: unknown, coded: boolean): unknown {
  if (variable._codec === undefined) return raw;
  if (!coded) {
    throw new ContextSerializationError(
      'ERR_CONTEXT_DESERIALIZE',
      `Cannot deserialize the context: the value that arrived for ContextVar '${variable._name}' ` +
        'was not encoded by a codec, and the var here has one, which decodes everything that ' +
        "arrives for its name: give the sending side's var the same codec",
      { varName: variable._name },
    );
  }
  try {
    return variable._codec.decode(raw);
  } catch (cause) {
    throw new ContextSerializationError(
      'ERR_CONTEXT_DESERIALIZE',
      `The codec of ContextVar '${variable._name}' failed to decode the value that arrived for it`,
      { varName: variable._name, cause },
    );
  }
}

/** Marks `ctx`'s map as shared: from now on a write forks a new map. */
export function shareMap(ctx: ContextState): void {
  ctx._owned = false;
}

/**
 * Binds `variable` to `value` in `ctx`, for callers that just looked the var
 * up: `present` says whether it had a value, which spares a second lookup on
 * the hot path of `set`. A context that alone holds its map overwrites a root
 * entry in place; any other write builds a new map, which the context then
 * alone holds. Other layers use `setEntry`.
 */
export function bindValue(
  ctx: ContextState,
  variable: VarState,
  value: unknown,
  present: boolean,
): void {
  const map = ctx._map;
  if (present && ctx._owned && hamtOverwriteRoot(map as HamtNode, variable, value)) return;
  const next = hamtSet(map, variable, value);
  if (next === map) return;
  ctx._map = next;
  ctx._owned = true;
  if (!present) ctx._size++;
}

/** Binds `variable` to `value` in `ctx`, looking up whether it had a value. */
export function setEntry(ctx: ContextState, variable: VarState, value: unknown): void {
  bindValue(ctx, variable, value, hamtGet(ctx._map, variable) !== ABSENT);
}

/** Sets (or, with undefined, removes) the pending entry `name` of `ctx`. */
export function setPending(ctx: ContextState, name: string, entry: PendingEntry | undefined): void {
  ctx._pending = pendingWith(ctx._pending, name, entry);
}

/**
 * What other layers read of a context: its map (shared from now on,
 * so it never changes under the reader), size and pending entries.
 */
export interface ContextView {
  readonly map: Hamt;
  readonly size: number;
  readonly pending: Pending | null;
}

/** The view of `ctx` as it is now. */
export function viewOf(ctx: ContextState): ContextView {
  shareMap(ctx);
  return { map: ctx._map, size: ctx._size, pending: ctx._pending };
}

/** Removes `variable` from `ctx`, if it is there. */
export function eraseEntry(ctx: ContextState, variable: VarState): void {
  const next = hamtDelete(ctx._map, variable);
  if (next !== ctx._map) {
    ctx._map = next;
    ctx._owned = true;
    ctx._size--;
  }
}
