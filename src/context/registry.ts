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

/** The live propagating vars declared with `name` in this thread. */
export function declaredVars(name: string): VarState[] {
  const live: VarState[] = [];
  for (const ref of state.registry.get(name) ?? []) {
    const variable = ref.deref();
    if (variable !== undefined) live.push(variable);
  }
  return live;
}
