/**
 * Cross-copy type checks. Two copies of this package in one process (nested
 * node_modules, a monorepo) must accept each other's vars, tokens, contexts and
 * errors, so identity is a `Symbol.for` brand on the prototype, never a class
 * reference.
 */

export const BRAND = {
  contextVar: Symbol.for('contextvars.ContextVar'),
  token: Symbol.for('contextvars.Token'),
  context: Symbol.for('contextvars.Context'),
  lookupError: Symbol.for('contextvars.LookupError'),
  contextError: Symbol.for('contextvars.ContextError'),
  serializationError: Symbol.for('contextvars.ContextSerializationError'),
  contextPoolError: Symbol.for('contextvars.ContextPoolError'),
} as const;

export function hasBrand(value: unknown, brand: symbol): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true
  );
}

/** Puts `brand` on a class prototype, non-enumerable. */
export function brandPrototype(target: { prototype: object }, brand: symbol): void {
  Object.defineProperty(target.prototype, brand, { value: true });
}
