import { state, type VarState } from './state.js';

/**
 * Names of propagating vars, held weakly: vars are matched across threads by
 * name, and a var that has been collected no longer declares its name.
 */

export function declareVar(variable: VarState): void {
  const ref = new WeakRef(variable);
  let refs = state.registry.get(variable._name);
  if (refs === undefined) {
    refs = new Set();
    state.registry.set(variable._name, refs);
  }
  refs.add(ref);
  state.registryCleanup.register(variable, { name: variable._name, ref });
}

/**
 * The one live propagating var declared with `name`, undefined if none, or
 * the number of them if there are several.
 */
export function declaredVar(name: string): VarState | undefined | number {
  const refs = state.registry.get(name);
  if (refs === undefined) return undefined;
  let found: VarState | undefined;
  let count = 0;
  for (const ref of refs) {
    const variable = ref.deref();
    if (variable === undefined) continue;
    found = variable;
    count++;
  }
  return count > 1 ? count : found;
}
