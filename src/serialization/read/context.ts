import type { Context } from '../../context/index.js';
import {
  type ContextState,
  carriedEntry,
  contextOf,
  declaredVar,
  decodeArrived,
  eraseEntry,
  type PendingEntry,
  pendingFrom,
  setEntry,
  setPending,
  type VarState,
} from '../../context/internal.js';
import { cannotDeserialize } from '../errors.js';
import type { IncomingEntry } from './entries.js';

/**
 * A new Context holding `incoming`: each name declared by exactly one
 * propagating var here becomes that var's entry (decoded by its codec; a
 * value no codec encoded is refused for a var that has one); undeclared names stay pending until a var of that name
 * touches the context; a name declared by two propagating vars is refused.
 * This is where a snapshot arrives: the carried entries registered here
 * (stores, OpenTelemetry) read their names now, once, and a refusal of
 * theirs refuses the whole snapshot (see `contextOf`).
 */
export function contextFromEntries(incoming: readonly IncomingEntry[]): Context {
  const vars: VarState[] = [];
  const values: unknown[] = [];
  const pendingNames: string[] = [];
  const pendingEntries: PendingEntry[] = [];
  const seen = new Set<string>();
  for (const entry of incoming) {
    if (seen.has(entry.name)) {
      throw cannotDeserialize(`the snapshot holds '${entry.name}' twice`, {
        varName: entry.name,
      });
    }
    seen.add(entry.name);
    const variable = receivingVar(entry.name);
    if (variable === undefined) {
      pendingNames.push(entry.name);
      pendingEntries.push({ value: entry.value, coded: entry.coded });
    } else {
      vars.push(variable);
      values.push(arrivedValue(variable, entry));
    }
  }
  return contextOf(vars, values, pendingFrom(pendingNames, pendingEntries));
}

/**
 * Applies the difference between two snapshots to a context built from the
 * first: `removed` names are taken out, then `changed` entries are set (or
 * stay pending) as `contextFromEntries` would set them. A name a var here
 * declares also loses any pending entry left from before the var existed.
 * The caller completes the arrival with `arrive(ctx)`, which reads the
 * carried entries among the result's pending ones.
 */
export function applyChanges(
  ctx: ContextState,
  changed: readonly IncomingEntry[],
  removed: readonly string[],
): void {
  for (const name of removed) {
    const variable = receivingVar(name);
    if (variable !== undefined) eraseEntry(ctx, variable);
    setPending(ctx, name, undefined);
  }
  for (const entry of changed) {
    const variable = receivingVar(entry.name);
    if (variable === undefined) {
      setPending(ctx, entry.name, { value: entry.value, coded: entry.coded });
      continue;
    }
    setPending(ctx, entry.name, undefined);
    setEntry(ctx, variable, arrivedValue(variable, entry));
  }
}

/**
 * The one propagating var declared here with `name`, if any; refuses a name
 * two of them declare, or a var and a carried store. A name only a carried
 * store has stays pending; the store reads it when the context arrives.
 */
function receivingVar(name: string): VarState | undefined {
  const variable = declaredVar(name);
  if (typeof variable === 'number') {
    throw cannotDeserialize(
      `${variable} propagating ContextVars are named '${name}' in this thread, and across ` +
        'threads a name must mean one thing',
      { varName: name },
    );
  }
  if (variable !== undefined && carriedEntry(name) !== undefined) {
    throw cannotDeserialize(
      `a propagating ContextVar and a carried store are both named '${name}' in this thread, ` +
        'and across threads a name must mean one thing',
      { varName: name },
    );
  }
  return variable;
}

function arrivedValue(variable: VarState, entry: IncomingEntry): unknown {
  return decodeArrived(variable, entry.value, entry.coded);
}
