import { BRAND, brandPrototype, hasBrand } from './brand.js';
import type { ContextVar } from './context-var.js';
import { illegalConstructor } from './errors.js';
import { ABSENT } from './hamt.js';
import type { ContextState } from './state.js';

/** `Token.MISSING`: the `oldValue` of a token whose var had no value before `set`. */
const MISSING: unique symbol = Symbol.for('contextvars.Token.MISSING');

let issuing = false;

/**
 * What `ContextVar.set` returns: pass it to `reset` to restore the previous
 * value, once, in the same context. `using _ = v.set(x)` resets at block end.
 *
 * @example
 * const token = requestId.set('r-8');
 * try { work(); } finally { requestId.reset(token); }
 */
export class Token<T> {
  static readonly MISSING: typeof MISSING = MISSING;

  /** @internal */ _var!: ContextVar<T>;
  /** @internal */ _ctx!: ContextState;
  /** @internal The previous value, or ABSENT. */ _old: unknown;
  /** @internal */ _used = false;

  /** Tokens are made by `ContextVar.set`; calling this throws `ERR_ILLEGAL_CONSTRUCTOR`. */
  private constructor() {
    if (!issuing)
      throw illegalConstructor('Illegal constructor: tokens are made by ContextVar.set');
  }

  /** @internal */
  static _issue<T>(variable: ContextVar<T>, ctx: ContextState, old: unknown): Token<T> {
    issuing = true;
    const token = new Token<T>();
    issuing = false;
    token._var = variable;
    token._ctx = ctx;
    token._old = old;
    return token;
  }

  /** The var whose `set` made this token. */
  get var(): ContextVar<T> {
    return this._var;
  }

  /** The value the var had before `set`, or `Token.MISSING` if it had none. */
  get oldValue(): T | typeof MISSING {
    return this._old === ABSENT ? MISSING : (this._old as T);
  }

  /** Resets the var (Python 3.14's `with var.set(x):`). */
  [Symbol.dispose](): void {
    this._var.reset(this);
  }

  toString(): string {
    return `<Token${this._used ? ' used' : ''} var=${String(this._var)}>`;
  }

  get [Symbol.toStringTag](): string {
    return 'Token';
  }

  static [Symbol.hasInstance](value: unknown): boolean {
    return hasBrand(value, BRAND.token);
  }
}
brandPrototype(Token, BRAND.token);
