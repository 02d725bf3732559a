/**
 * Persistent hash array mapped trie keyed by object identity: the map a
 * Context holds. Nodes are never mutated after creation, so a context copy
 * shares its parent's map in O(1) and a write path-copies O(log32 n) nodes,
 * as CPython's `Python/hamt.c` does.
 *
 * Layout (shared by every copy of the package with the same state layout):
 * a node is `{ hash, bitmap, slots }`. `slots` holds key/value pairs; a pair
 * whose key is `null` holds a child node. A node with `bitmap === 0` is a
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
  readonly slots: readonly unknown[];
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

/** Slot index of the pair for `bit` in a node with `bitmap`. */
function pairIndex(bitmap: number, bit: number): number {
  return popcount(bitmap & (bit - 1)) << 1;
}

function node(hash: number, bitmap: number, slots: readonly unknown[]): HamtNode {
  return { hash, bitmap, slots };
}

export function hamtGet(map: Hamt, key: HashedKey): unknown {
  if (map === null) return ABSENT;
  const hash = key._hash;
  let current = map;
  let shift = 0;
  for (;;) {
    const { bitmap, slots } = current;
    if (bitmap === 0) return collisionGet(slots, key);
    const bit = bitFor(hash, shift);
    if ((bitmap & bit) === 0) return ABSENT;
    const i = pairIndex(bitmap, bit);
    const k = slots[i];
    if (k === null) {
      current = slots[i + 1] as HamtNode;
      shift += BITS;
    } else {
      return k === key ? slots[i + 1] : ABSENT;
    }
  }
}

function collisionGet(slots: readonly unknown[], key: HashedKey): unknown {
  for (let i = 0; i < slots.length; i += 2) {
    if (slots[i] === key) return slots[i + 1];
  }
  return ABSENT;
}

/** A map with `key` bound to `value`; the same map if it already was (by `Object.is`). */
export function hamtSet(map: Hamt, key: HashedKey, value: unknown): HamtNode {
  if (map === null) return node(0, bitFor(key._hash, 0), [key, value]);
  return assoc(map, 0, key._hash, key, value);
}

function assoc(
  current: HamtNode,
  shift: number,
  hash: number,
  key: HashedKey,
  value: unknown,
): HamtNode {
  const { bitmap, slots } = current;
  if (bitmap === 0) return collisionAssoc(current, shift, hash, key, value);
  const bit = bitFor(hash, shift);
  const i = pairIndex(bitmap, bit);
  if ((bitmap & bit) === 0) return node(0, bitmap | bit, insertPair(slots, i, key, value));
  const k = slots[i];
  const v = slots[i + 1];
  if (k === null) {
    const child = assoc(v as HamtNode, shift + BITS, hash, key, value);
    return child === v ? current : node(0, bitmap, replaceAt(slots, i + 1, child));
  }
  if (k === key) {
    return Object.is(v, value) ? current : node(0, bitmap, replaceAt(slots, i + 1, value));
  }
  const child = pairNode(shift + BITS, k as HashedKey, v, key, value);
  return node(0, bitmap, replacePair(slots, i, null, child));
}

function collisionAssoc(
  current: HamtNode,
  shift: number,
  hash: number,
  key: HashedKey,
  value: unknown,
): HamtNode {
  const { slots } = current;
  if (hash !== current.hash) {
    // A different hash reached a collision node: push the node one level down.
    const wrapper = node(0, bitFor(current.hash, shift), [null, current]);
    return assoc(wrapper, shift, hash, key, value);
  }
  for (let i = 0; i < slots.length; i += 2) {
    if (slots[i] === key) {
      return Object.is(slots[i + 1], value)
        ? current
        : node(hash, 0, replaceAt(slots, i + 1, value));
    }
  }
  return node(hash, 0, [...slots, key, value]);
}

/** The smallest subtree holding two distinct keys that agreed on every bit below `shift`. */
function pairNode(shift: number, k1: HashedKey, v1: unknown, k2: HashedKey, v2: unknown): HamtNode {
  const h1 = k1._hash;
  const h2 = k2._hash;
  if (h1 === h2) return node(h1, 0, [k1, v1, k2, v2]);
  // Distinct hashes differ at some bit at or above `shift` (below 32): this terminates.
  const b1 = bitFor(h1, shift);
  const b2 = bitFor(h2, shift);
  if (b1 === b2) return node(0, b1, [null, pairNode(shift + BITS, k1, v1, k2, v2)]);
  // Pairs are ordered by bit position; `>>> 0` keeps bit 31 above the others.
  return b1 >>> 0 < b2 >>> 0
    ? node(0, b1 | b2, [k1, v1, k2, v2])
    : node(0, b1 | b2, [k2, v2, k1, v1]);
}

/** A map without `key`; the same map if `key` was not in it. */
export function hamtDelete(map: Hamt, key: HashedKey): Hamt {
  if (map === null) return null;
  return dissoc(map, 0, key._hash, key);
}

function dissoc(current: HamtNode, shift: number, hash: number, key: HashedKey): Hamt {
  const { bitmap, slots } = current;
  if (bitmap === 0) {
    for (let i = 0; i < slots.length; i += 2) {
      if (slots[i] === key) return slots.length === 2 ? null : node(hash, 0, removePair(slots, i));
    }
    return current;
  }
  const bit = bitFor(hash, shift);
  if ((bitmap & bit) === 0) return current;
  const i = pairIndex(bitmap, bit);
  const k = slots[i];
  const v = slots[i + 1];
  if (k === null) {
    const child = dissoc(v as HamtNode, shift + BITS, hash, key);
    if (child === v) return current;
    if (child === null) return bitmap === bit ? null : node(0, bitmap ^ bit, removePair(slots, i));
    // A child left with one entry is folded into this node, keeping the trie shallow.
    if (child.slots.length === 2 && child.slots[0] !== null) {
      return node(0, bitmap, replacePair(slots, i, child.slots[0], child.slots[1]));
    }
    return node(0, bitmap, replaceAt(slots, i + 1, child));
  }
  if (k !== key) return current;
  return bitmap === bit ? null : node(0, bitmap ^ bit, removePair(slots, i));
}

/** Every key/value pair of the map, in trie order. */
export function* hamtEntries(map: Hamt): Generator<[HashedKey, unknown], void, undefined> {
  if (map === null) return;
  const { slots } = map;
  for (let i = 0; i < slots.length; i += 2) {
    const k = slots[i];
    if (k === null) yield* hamtEntries(slots[i + 1] as HamtNode);
    else yield [k as HashedKey, slots[i + 1]];
  }
}

function insertPair(slots: readonly unknown[], i: number, k: unknown, v: unknown): unknown[] {
  const out: unknown[] = [];
  for (let j = 0; j < i; j++) out.push(slots[j]);
  out.push(k, v);
  for (let j = i; j < slots.length; j++) out.push(slots[j]);
  return out;
}

function removePair(slots: readonly unknown[], i: number): unknown[] {
  const out: unknown[] = [];
  for (let j = 0; j < slots.length; j++) if (j !== i && j !== i + 1) out.push(slots[j]);
  return out;
}

function replaceAt(slots: readonly unknown[], i: number, v: unknown): unknown[] {
  const out = slots.slice();
  out[i] = v;
  return out;
}

function replacePair(slots: readonly unknown[], i: number, k: unknown, v: unknown): unknown[] {
  const out = slots.slice();
  out[i] = k;
  out[i + 1] = v;
  return out;
}
