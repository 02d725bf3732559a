import { type LocalNames, state, type VarState } from './state.js';

/**
 * Names of vars, held weakly: propagating vars are matched across threads
 * by name, non-propagating ones keep their names from leaving the thread,
 * and a var that has been collected no longer declares its name.
 */

type Refs = Map<string, Set<WeakRef<VarState>>>;

function register(
  refs: Refs,
  cleanup: FinalizationRegistry<{ name: string; ref: WeakRef<VarState> }>,
  variable: VarState,
): void {
  const ref = new WeakRef(variable);
  let named = refs.get(variable._name);
  if (named === undefined) {
    named = new Set();
    refs.set(variable._name, named);
  }
  named.add(ref);
  cleanup.register(variable, { name: variable._name, ref });
}

function forgetter(refs: Refs): FinalizationRegistry<{ name: string; ref: WeakRef<VarState> }> {
  return new FinalizationRegistry(({ name, ref }) => {
    const named = refs.get(name);
    named?.delete(ref);
    if (named?.size === 0) refs.delete(name);
  });
}

export function declareVar(variable: VarState): void {
  if (variable._propagate) {
    register(state.registry, state.registryCleanup, variable);
    return;
  }
  let local = state.localNames;
  if (local === undefined) {
    const vars: Refs = new Map();
    local = { vars, cleanup: forgetter(vars), declarations: 0 } satisfies LocalNames;
    state.localNames = local;
  }
  register(local.vars, local.cleanup, variable);
  local.declarations++;
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

/**
 * Whether a live `propagate: false` var is named `name` here: an entry of
 * that name, even one that arrived before the var was declared, never
 * leaves this thread.
 */
export function isLocalName(name: string): boolean {
  const refs = state.localNames?.vars.get(name);
  if (refs === undefined) return false;
  for (const ref of refs) if (ref.deref() !== undefined) return true;
  return false;
}

/**
 * How many `propagate: false` vars were ever declared here: an encoding
 * that forwarded pending entries is reused only while this is unchanged.
 */
export function localDeclarations(): number {
  return state.localNames?.declarations ?? 0;
}
