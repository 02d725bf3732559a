/**
 * Persistent hash array mapped trie keyed by object identity: the map a
 * Context holds. A shared node is never mutated, so a context copy shares its
 * parent's map in O(1) and a write path-copies O(log32 n) nodes, as CPython's
 * `Python/hamt.c` does. The one exception is `hamtOverwriteRoot`, which the
 * owner of an unshared root may use (see `bindValue`).
 *
 * Layout (shared by every copy of the package with the same state layout):
 * a node is `{ hash, bitmap, keys, values }`; entry i is `keys[i]` ->
 * `values[i]`, and a `null` key means `values[i]` is a child node. Keys and
 * values are separate arrays so that overwriting a value (the common write)
 * copies only `values` and shares `keys`. A node with `bitmap === 0` is a
 * collision node: every key in it has the full 32-bit `hash`. The empty map
 * is `null`.
 */

/** Anything usable as a key: an object with a stable 32-bit hash. */
export interface HashedKey {
  readonly _hash: number;
}

export interface HamtNode {
  readonly hash: number;
  readonly bitmap: number;
  readonly keys: readonly (HashedKey | null)[];
  readonly values: readonly unknown[];
}

export type Hamt = HamtNode | null;

/** Returned by `hamtGet` for a key that is not in the map. */
export const ABSENT: unique symbol = Symbol.for('contextvars.absent');
export type Absent = typeof ABSENT;

const BITS = 5;
const MASK = 31;

function popcount(x: number): number {
  let n = x - ((x >>> 1) & 0x55555555);
  n = (n & 0x33333333) + ((n >>> 2) & 0x33333333);
  return Math.imul((n + (n >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

function bitFor(hash: number, shift: number): number {
  return 1 << ((hash >>> shift) & MASK);
}

/** Index of the entry for `bit` in a node with `bitmap`. */
function entryIndex(bitmap: number, bit: number): number {
  return popcount(bitmap & (bit - 1));
}

// Nodes are class instances and arrays come from slice or rest parameters,
// never literals: V8 pretenures a literal's allocation site once many of its
// objects survive (a large long-lived context does that), and every later
// write would then allocate in old space, 8x slower (measured).
class Node implements HamtNode {
  constructor(
    readonly hash: number,
    readonly bitmap: number,
    readonly keys: readonly (HashedKey | null)[],
    readonly values: readonly unknown[],
  ) {}
}

function listOf<T>(...items: T[]): T[] {
  return items;
}

function bitmapNode(
  bitmap: number,
  keys: readonly (HashedKey | null)[],
  values: readonly unknown[],
): HamtNode {
  return new Node(0, bitmap, keys, values);
}

export function hamtGet(map: Hamt, key: HashedKey): unknown {
  if (map === null) return ABSENT;
  const hash = key._hash;
  let current = map;
  let shift = 0;
  for (;;) {
    const { bitmap } = current;
    if (bitmap === 0) {
      const i = current.keys.indexOf(key);
      return i === -1 ? ABSENT : current.values[i];
    }
    const bit = bitFor(hash, shift);
    if ((bitmap & bit) === 0) return ABSENT;
    const i = entryIndex(bitmap, bit);
    const k = current.keys[i];
    if (k === null) {
      current = current.values[i] as HamtNode;
      shift += BITS;
    } else {
      return k === key ? current.values[i] : ABSENT;
    }
  }
}

/** A map with `key` bound to `value`; the same map if it already was (by `Object.is`). */
export function hamtSet(map: Hamt, key: HashedKey, value: unknown): HamtNode {
  if (map === null) return bitmapNode(bitFor(key._hash, 0), listOf(key), listOf(value));
  return assoc(map, 0, key._hash, key, value);
}

function assoc(
  current: HamtNode,
  shift: number,
  hash: number,
  key: HashedKey,
  value: unknown,
): HamtNode {
  const { bitmap, keys, values } = current;
  if (bitmap === 0) return collisionAssoc(current, shift, hash, key, value);
  const bit = bitFor(hash, shift);
  const i = entryIndex(bitmap, bit);
  if ((bitmap & bit) === 0) {
    return bitmapNode(bitmap | bit, insertAt(keys, i, key), insertAt(values, i, value));
  }
  const k = keys[i];
  const v = values[i];
  if (k === null) {
    const child = assoc(v as HamtNode, shift + BITS, hash, key, value);
    return child === v ? current : bitmapNode(bitmap, keys, replaceAt(values, i, child));
  }
  if (k === key) {
    return Object.is(v, value) ? current : bitmapNode(bitmap, keys, replaceAt(values, i, value));
  }
  const child = pairNode(shift + BITS, k as HashedKey, v, key, value);
  return bitmapNode(bitmap, replaceAt(keys, i, null), replaceAt(values, i, child));
}

function collisionAssoc(
  current: HamtNode,
  shift: number,
  hash: number,
  key: HashedKey,
  value: unknown,
): HamtNode {
  const { keys, values } = current;
  if (hash !== current.hash) {
    // A different hash reached a collision node: push the node one level down.
    const wrapper = bitmapNode(bitFor(current.hash, shift), listOf(null), listOf(current));
    return assoc(wrapper, shift, hash, key, value);
  }
  const i = keys.indexOf(key);
  if (i === -1) {
    return new Node(
      hash,
      0,
      insertAt(keys, keys.length, key),
      insertAt(values, keys.length, value),
    );
  }
  return Object.is(values[i], value)
    ? current
    : new Node(hash, 0, keys, replaceAt(values, i, value));
}

/** The smallest subtree holding two distinct keys that agreed on every bit below `shift`. */
function pairNode(shift: number, k1: HashedKey, v1: unknown, k2: HashedKey, v2: unknown): HamtNode {
  const h1 = k1._hash;
  const h2 = k2._hash;
  if (h1 === h2) return new Node(h1, 0, listOf(k1, k2), listOf(v1, v2));
  // Distinct hashes differ at some bit at or above `shift` (below 32): this terminates.
  const b1 = bitFor(h1, shift);
  const b2 = bitFor(h2, shift);
  if (b1 === b2) {
    return bitmapNode(b1, listOf(null), listOf(pairNode(shift + BITS, k1, v1, k2, v2)));
  }
  // Entries are ordered by bit position; `>>> 0` keeps bit 31 above the others.
  return b1 >>> 0 < b2 >>> 0
    ? bitmapNode(b1 | b2, listOf(k1, k2), listOf(v1, v2))
    : bitmapNode(b1 | b2, listOf(k2, k1), listOf(v2, v1));
}

/**
 * Overwrites `key`'s value in place if it sits in the root node itself;
 * returns false (changing nothing) otherwise. Only for a root nothing else
 * references: values arrays are never shared between nodes, keys arrays are.
 */
export function hamtOverwriteRoot(map: HamtNode, key: HashedKey, value: unknown): boolean {
  const { bitmap } = map;
  if (bitmap === 0) return false;
  const bit = bitFor(key._hash, 0);
  if ((bitmap & bit) === 0) return false;
  const i = entryIndex(bitmap, bit);
  if (map.keys[i] !== key) return false;
  (map.values as unknown[])[i] = value;
  return true;
}

/** A map without `key`; the same map if `key` was not in it. */
export function hamtDelete(map: Hamt, key: HashedKey): Hamt {
  if (map === null) return null;
  return dissoc(map, 0, key._hash, key);
}

function dissoc(current: HamtNode, shift: number, hash: number, key: HashedKey): Hamt {
  const { bitmap, keys, values } = current;
  if (bitmap === 0) {
    const i = keys.indexOf(key);
    if (i === -1) return current;
    return keys.length === 1 ? null : new Node(hash, 0, removeAt(keys, i), removeAt(values, i));
  }
  const bit = bitFor(hash, shift);
  if ((bitmap & bit) === 0) return current;
  const i = entryIndex(bitmap, bit);
  const k = keys[i];
  const v = values[i];
  if (k === null) {
    const child = dissoc(v as HamtNode, shift + BITS, hash, key);
    if (child === v) return current;
    if (child === null) {
      return bitmap === bit
        ? null
        : bitmapNode(bitmap ^ bit, removeAt(keys, i), removeAt(values, i));
    }
    // A child left with one entry is folded into this node, keeping the trie shallow.
    const only = child.keys.length === 1 ? child.keys[0] : null;
    if (only !== null && only !== undefined) {
      return bitmapNode(bitmap, replaceAt(keys, i, only), replaceAt(values, i, child.values[0]));
    }
    return bitmapNode(bitmap, keys, replaceAt(values, i, child));
  }
  if (k !== key) return current;
  return bitmap === bit ? null : bitmapNode(bitmap ^ bit, removeAt(keys, i), removeAt(values, i));
}

/** Calls `visit` with every key/value pair of the map, in trie order (no iterator objects). */
export function hamtForEach(map: Hamt, visit: (key: HashedKey, value: unknown) => void): void {
  if (map === null) return;
  const { keys, values } = map;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k === null || k === undefined) hamtForEach(values[i] as HamtNode, visit);
    else visit(k, values[i]);
  }
}

/**
 * Calls `changed(key, value)` for every key whose value in `next` differs from
 * its value in `base` (by `Object.is`) or that `base` lacks, and `removed(key)`
 * for every key of `base` that `next` lacks, until either returns true (stop).
 * Subtrees the two maps share are skipped, and nodes with the same layout are
 * compared slot by slot, so the work follows the difference, not the size of
 * the maps. Returns true if it was stopped.
 */
export function hamtDiff(
  base: Hamt,
  next: Hamt,
  changed: (key: HashedKey, value: unknown) => boolean,
  removed: (key: HashedKey) => boolean,
): boolean {
  if (base === next) return false;
  if (base === null) return everyEntry(next, changed);
  if (next === null) return everyEntry(base, removed);
  if (base.bitmap !== 0 && base.bitmap === next.bitmap && sameKeys(base.keys, next.keys)) {
    for (let i = 0; i < base.keys.length; i++) {
      const key = base.keys[i] as HashedKey | null;
      const before = base.values[i];
      const after = next.values[i];
      if (key === null) {
        if (hamtDiff(before as HamtNode, after as HamtNode, changed, removed)) return true;
      } else if (!Object.is(before, after) && changed(key, after)) {
        return true;
      }
    }
    return false;
  }
  const old = new Map<HashedKey, unknown>();
  hamtForEach(base, (key, value) => old.set(key, value));
  const stopped = everyEntry(next, (key, value) => {
    const stop = (!old.has(key) || !Object.is(old.get(key), value)) && changed(key, value);
    old.delete(key);
    return stop;
  });
  if (stopped) return true;
  for (const key of old.keys()) if (removed(key)) return true;
  return false;
}

/** Visits entries until `visit` returns true; returns whether it did. */
function everyEntry(map: Hamt, visit: (key: HashedKey, value: unknown) => boolean): boolean {
  if (map === null) return false;
  const { keys, values } = map;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k === null || k === undefined) {
      if (everyEntry(values[i] as HamtNode, visit)) return true;
    } else if (visit(k, values[i])) {
      return true;
    }
  }
  return false;
}

function sameKeys(a: readonly (HashedKey | null)[], b: readonly (HashedKey | null)[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A map of distinct `keys` to `values` built in one pass, instead of one
 * path-copying insert per key.
 */
export function hamtFromEntries(keys: readonly HashedKey[], values: readonly unknown[]): Hamt {
  if (keys.length === 0) return null;
  return build(
    keys.map((_, i) => i),
    keys,
    values,
    0,
  );
}

function build(
  members: readonly number[],
  keys: readonly HashedKey[],
  values: readonly unknown[],
  shift: number,
): HamtNode {
  const first = keys[members[0] as number] as HashedKey;
  if (members.every((i) => (keys[i] as HashedKey)._hash === first._hash) && members.length > 1) {
    return new Node(
      first._hash,
      0,
      listOf(...members.map((i) => keys[i] as HashedKey)),
      listOf(...members.map((i) => values[i])),
    );
  }
  const buckets: number[][] = [];
  for (const i of members) {
    const chunk = ((keys[i] as HashedKey)._hash >>> shift) & MASK;
    const bucket = buckets[chunk];
    if (bucket === undefined) buckets[chunk] = listOf(i);
    else bucket.push(i);
  }
  let bitmap = 0;
  const nodeKeys = listOf<HashedKey | null>();
  const nodeValues = listOf<unknown>();
  buckets.forEach((bucket, chunk) => {
    bitmap |= 1 << chunk;
    if (bucket.length === 1) {
      const i = bucket[0] as number;
      nodeKeys.push(keys[i] as HashedKey);
      nodeValues.push(values[i]);
    } else {
      nodeKeys.push(null);
      nodeValues.push(build(bucket, keys, values, shift + BITS));
    }
  });
  return bitmapNode(bitmap, nodeKeys, nodeValues);
}

/** Every key/value pair of the map, in trie order. */
export function* hamtEntries(map: Hamt): Generator<[HashedKey, unknown], void, undefined> {
  if (map === null) return;
  const { keys, values } = map;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (k === null || k === undefined) yield* hamtEntries(values[i] as HamtNode);
    else yield [k, values[i]];
  }
}

function insertAt<T>(list: readonly T[], i: number, item: T): T[] {
  const out = list.slice(0, i);
  out.push(item);
  for (let j = i; j < list.length; j++) out.push(list[j] as T);
  return out;
}

function removeAt<T>(list: readonly T[], i: number): T[] {
  const out = list.slice(0, i);
  for (let j = i + 1; j < list.length; j++) out.push(list[j] as T);
  return out;
}

function replaceAt<T>(list: readonly T[], i: number, item: T): T[] {
  const out = list.slice();
  out[i] = item;
  return out;
}
