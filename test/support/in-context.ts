import { Context, type ContextVar } from '../../dist/index.js';

/** Runs `fn` in a new context in which `values` are set. */
export function inContext<T>(values: Array<[ContextVar<unknown>, unknown]>, fn: () => T): T {
  return new Context().run(() => {
    for (const [variable, value] of values) variable.set(value);
    return fn();
  });
}
