import {
  ABSENT,
  type Hamt,
  hamtDelete,
  hamtForEach,
  hamtFromEntries,
  hamtGet,
  hamtSet,
} from './hamt.js';
import { nextHash, type PendingEntry } from './state.js';

/**
 * Entries that arrived for names no var here declares yet, as a persistent
 * map from name to entry: copies of a context share it, and taking or
 * changing one entry builds a new map in O(log n), leaving every other
 * holder's map as it was. So a var adopting its entry costs the same with 10
 * or 300,000 pending names.
 *
 * Names reach the map's keys through `names`, a dictionary shared by every
 * map derived from one arrival. It only grows; a name in it means nothing
 * unless the map holds its key.
 */
export interface Pending {
  readonly names: Map<string, NameKey>;
  readonly map: Hamt;
  readonly size: number;
}

/** The HAMT key standing for one pending name. */
export class NameKey {
  readonly _hash = nextHash();
  constructor(readonly name: string) {}
}

/** Pending entries for `names` (distinct), or null for none. */
export function pendingFrom(
  names: readonly string[],
  entries: readonly PendingEntry[],
): Pending | null {
  if (names.length === 0) return null;
  const dictionary = new Map<string, NameKey>();
  const keys = names.map((name) => {
    const key = new NameKey(name);
    dictionary.set(name, key);
    return key;
  });
  return { names: dictionary, map: hamtFromEntries(keys, entries), size: names.length };
}

export function pendingGet(pending: Pending | null, name: string): PendingEntry | undefined {
  if (pending === null) return undefined;
  const key = pending.names.get(name);
  if (key === undefined) return undefined;
  const entry = hamtGet(pending.map, key);
  return entry === ABSENT ? undefined : (entry as PendingEntry);
}

/** `pending` with `name` bound to `entry`, or without `name` when `entry` is undefined. */
export function pendingWith(
  pending: Pending | null,
  name: string,
  entry: PendingEntry | undefined,
): Pending | null {
  let key = pending?.names.get(name);
  if (entry === undefined) {
    if (pending === null || key === undefined) return pending;
    const map = hamtDelete(pending.map, key);
    if (map === pending.map) return pending;
    return map === null ? null : { names: pending.names, map, size: pending.size - 1 };
  }
  const names = pending?.names ?? new Map<string, NameKey>();
  if (key === undefined) {
    key = new NameKey(name);
    names.set(name, key);
  }
  const before = pending?.map ?? null;
  const map = hamtSet(before, key, entry);
  const added = hamtGet(before, key) === ABSENT ? 1 : 0;
  return { names, map, size: (pending?.size ?? 0) + added };
}

/** Calls `visit` with every pending name and its entry. */
export function forEachPending(
  pending: Pending | null,
  visit: (name: string, entry: PendingEntry) => void,
): void {
  if (pending === null) return;
  hamtForEach(pending.map, (key, entry) => visit((key as NameKey).name, entry as PendingEntry));
}
