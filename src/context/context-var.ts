import { BRAND, brandPrototype, hasBrand } from './brand.js';
import { adoptPending, bindValue, current, eraseEntry, root } from './context.js';
import { ContextError, checkCodec, invalidArgType, LookupError } from './errors.js';
import { ABSENT, type Absent, type Hamt, hamtGet } from './hamt.js';
import { declareVar } from './registry.js';
import { rootSet } from './root-set.js';
import { assertUsable, type ContextVarCodec, nextHash } from './state.js';
import { Token } from './token.js';

export type { ContextVarCodec } from './state.js';

/** Options of `new ContextVar(name, options)`. */
export interface ContextVarOptions<T> {
  /** Returned by `get()` when the var has no value (an explicit `undefined` counts). */
  default?: T;
  /**
   * Whether the var's value travels with snapshots to other threads (default
   * true). False keeps secrets, sockets and handles in this thread.
   */
  propagate?: boolean;
  /** Turns values that cannot cross a thread (class instances) into ones that can, and back. */
  codec?: ContextVarCodec<T>;
}

/**
 * A context variable (Python's `contextvars.ContextVar`): one name, a value
 * per context.
 *
 * @example
 * const requestId = new ContextVar<string>('request_id', { default: 'none' });
 * requestId.get();            // 'none'
 * const token = requestId.set('r-7');
 * requestId.get('fallback');  // 'r-7'
 * requestId.reset(token);     // back to no value
 */
export class ContextVar<T> {
  /** @internal */ readonly _name: string;
  /** @internal */ readonly _hash: number;
  /** @internal */ readonly _default: T | Absent;
  /** @internal */ readonly _propagate: boolean;
  /** @internal */ readonly _codec: ContextVarCodec<unknown> | undefined;
  // Last lookup, keyed by the (immutable) map it was made in: as CPython's
  // per-var cache, it makes get() O(1) while the context does not change.
  /** @internal */ _cachedMap: Hamt | undefined = undefined;
  /** @internal */ _cachedValue: unknown = ABSENT;

  constructor(name: string, options?: ContextVarOptions<T>) {
    assertUsable();
    if (typeof name !== 'string') throw invalidArgType('name', 'of type string', name);
    const { propagate = true, codec } = checkOptions(options);
    this._name = name;
    this._hash = nextHash();
    this._default = options !== undefined && 'default' in options ? (options.default as T) : ABSENT;
    this._propagate = propagate;
    this._codec = codec as ContextVarCodec<unknown> | undefined;
    declareVar(this);
  }

  /** The name given at construction; vars are matched by it across threads. */
  get name(): string {
    return this._name;
  }

  /**
   * The value in the current context; else `fallback` if one is given (even
   * `undefined`); else the var's default; else throws `LookupError`
   * (`ERR_CONTEXT_VAR_NOT_SET`).
   */
  get(): T;
  get<D>(fallback: D): T | D;
  get(fallback?: unknown): unknown {
    const ctx = current();
    const map = ctx._map;
    let value = this._cachedValue;
    if (map !== this._cachedMap) {
      value = hamtGet(map, this);
      this._cachedMap = map;
      this._cachedValue = value;
    }
    if (value !== ABSENT) return value;
    value = adoptPending(ctx, this);
    if (value !== ABSENT) return value;
    // biome-ignore lint/complexity/noArguments: get(undefined) is an explicit fallback; no rest array on the hot path
    if (arguments.length > 0) return fallback;
    if (this._default !== ABSENT) return this._default;
    throw new LookupError(this._name);
  }

  /**
   * Sets the value in the current context; returns a Token for `reset`. A set
   * in the thread's root context while an HTTP request is being served emits
   * one process warning per var (`CONTEXTVARS_ROOT_SET`): the value would
   * reach every later request.
   */
  set(value: T): Token<T> {
    const ctx = current();
    if (ctx === root) rootSet(this);
    const map = ctx._map;
    let old = map === this._cachedMap ? this._cachedValue : hamtGet(map, this);
    if (old === ABSENT) old = adoptPending(ctx, this);
    bindValue(ctx, this, value, old !== ABSENT);
    // Also required after a write in place, which keeps the map object.
    this._cachedMap = ctx._map;
    this._cachedValue = value;
    return Token._issue(this, ctx, old);
  }

  /**
   * Restores the value the var had before the `set` that made `token`, or
   * removes it if it had none. Checked in CPython's order: a used token
   * (`ERR_TOKEN_USED`), another var's token (`ERR_TOKEN_VAR`), a token made
   * in another context (`ERR_TOKEN_CONTEXT`). A refused token stays usable.
   */
  reset(token: Token<T>): void {
    if (!hasBrand(token, BRAND.token)) throw invalidArgType('token', 'a Token', token);
    if (token._used) {
      throw new ContextError('ERR_TOKEN_USED', `${token} has already been used once`);
    }
    if (token._var !== this) {
      throw new ContextError('ERR_TOKEN_VAR', `${token} was created by a different ContextVar`);
    }
    const ctx = current();
    if (token._ctx !== ctx) {
      throw new ContextError('ERR_TOKEN_CONTEXT', `${token} was created in a different Context`);
    }
    token._used = true;
    if (token._old === ABSENT) eraseEntry(ctx, this);
    else bindValue(ctx, this, token._old, hamtGet(ctx._map, this) !== ABSENT);
    // The write may have been in place: the map is the same object, the value is not.
    this._cachedMap = ctx._map;
    this._cachedValue = token._old;
  }

  toString(): string {
    const shown = this._default === ABSENT ? '' : ` default=${preview(this._default)}`;
    return `<ContextVar name='${this._name}'${shown}>`;
  }

  get [Symbol.toStringTag](): string {
    return 'ContextVar';
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, BRAND.contextVar);
  }
}
brandPrototype(ContextVar, BRAND.contextVar);

function checkOptions<T>(options: ContextVarOptions<T> | undefined): ContextVarOptions<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) {
    throw invalidArgType('options', 'an object', options);
  }
  const { propagate, codec } = options;
  if (propagate !== undefined && typeof propagate !== 'boolean') {
    throw invalidArgType('options.propagate', 'of type boolean', propagate);
  }
  checkCodec(codec);
  return options;
}

function preview(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? '[...]' : '{...}';
  if (typeof value === 'function') return '[function]';
  return String(value);
}
