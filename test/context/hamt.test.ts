import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ABSENT,
  type Hamt,
  type HashedKey,
  hamtDelete,
  hamtDiff,
  hamtEntries,
  hamtFromEntries,
  hamtGet,
  hamtSet,
} from '../../src/context/hamt.js';

// Keys with chosen hashes, so collisions and deep tries can be forced.
function keys(hashes: readonly number[]): HashedKey[] {
  return hashes.map((hash) => ({ _hash: hash }));
}

function contents(map: Hamt): Map<HashedKey, unknown> {
  return new Map(hamtEntries(map));
}

type Op = { kind: 'set'; key: number; value: number } | { kind: 'delete'; key: number };

// Few distinct hashes among many keys: collisions, shared prefixes, bit 31.
const hashPool = [0, 1, 32, 33, 1024, 0x7fffffff, 0x80000000, 0xffffffff, 0x80000001, 31];

describe('HAMT', () => {
  it('behaves as a Map under any sequence of sets and deletes, without changing old versions', () => {
    const keyArb = fc.nat({ max: 23 });
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key: keyArb, value: fc.integer() }),
      fc.record({ kind: fc.constant('delete' as const), key: keyArb }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 120 }), fc.boolean(), (ops, collide) => {
        const pool = keys(
          Array.from({ length: 24 }, (_, i) =>
            collide ? (hashPool[i % hashPool.length] ?? 0) : i,
          ),
        );
        let map: Hamt = null;
        const model = new Map<HashedKey, unknown>();
        const versions: Array<[Hamt, Map<HashedKey, unknown>]> = [];
        for (const op of ops) {
          const key = pool[op.key] as HashedKey;
          if (op.kind === 'set') {
            map = hamtSet(map, key, op.value);
            model.set(key, op.value);
          } else {
            map = hamtDelete(map, key);
            model.delete(key);
          }
          versions.push([map, new Map(model)]);
          for (const k of pool) {
            expect(hamtGet(map, k)).toBe(model.has(k) ? model.get(k) : ABSENT);
          }
        }
        // Persistence: every earlier version still holds exactly what it held.
        for (const [version, expected] of versions) expect(contents(version)).toEqual(expected);
        if (model.size === 0) expect(map).toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('builds in one pass the same map as one insert per key, collisions included', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.nat({ max: 40 }), { maxLength: 40 }),
        fc.boolean(),
        (picks, collide) => {
          const pool = keys(
            picks.map((i) => (collide ? (hashPool[i % hashPool.length] ?? 0) : i * 37)),
          );
          const values = pool.map((_, i) => `v${i}`);
          let inserted: Hamt = null;
          pool.forEach((key, i) => {
            inserted = hamtSet(inserted, key, values[i]);
          });
          const built = hamtFromEntries(pool, values);
          expect(contents(built)).toEqual(contents(inserted));
          for (const [i, key] of pool.entries()) expect(hamtGet(built, key)).toBe(values[i]);
          // The built map takes further writes like any other.
          if (pool[0] !== undefined)
            expect(hamtGet(hamtDelete(built, pool[0]), pool[0])).toBe(ABSENT);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('diffs two versions exactly: every change and removal, nothing else', () => {
    const opArb = fc.record({
      set: fc.boolean(),
      key: fc.nat({ max: 60 }),
      value: fc.nat({ max: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 60 }),
        fc.array(opArb, { maxLength: 12 }),
        fc.boolean(),
        (first, second, collide) => {
          const pool = keys(
            Array.from({ length: 61 }, (_, i) =>
              collide ? (hashPool[i % hashPool.length] ?? 0) : i * 7,
            ),
          );
          const apply = (start: Hamt, ops: typeof first) =>
            ops.reduce<Hamt>(
              (map, op) =>
                op.set
                  ? hamtSet(map, pool[op.key] as HashedKey, op.value)
                  : hamtDelete(map, pool[op.key] as HashedKey),
              start,
            );
          const base = apply(null, first);
          const next = apply(base, second);
          const changed = new Map<HashedKey, unknown>();
          const removed = new Set<HashedKey>();
          hamtDiff(
            base,
            next,
            (key, value) => {
              changed.set(key, value);
              return false;
            },
            (key) => {
              removed.add(key);
              return false;
            },
          );
          const before = contents(base);
          const after = contents(next);
          const expectedChanged = new Map(
            [...after].filter(([k, v]) => !before.has(k) || !Object.is(before.get(k), v)),
          );
          const expectedRemoved = new Set([...before.keys()].filter((k) => !after.has(k)));
          expect(changed).toEqual(expectedChanged);
          expect(removed).toEqual(expectedRemoved);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('stops a diff as soon as a visitor asks', () => {
    const many = keys(Array.from({ length: 100 }, (_, i) => i));
    const base = hamtFromEntries(
      many,
      many.map(() => 0),
    );
    const next = hamtFromEntries(
      many,
      many.map(() => 1),
    );
    let visits = 0;
    const stopped = hamtDiff(
      base,
      next,
      () => ++visits === 3,
      () => false,
    );
    expect([stopped, visits]).toEqual([true, 3]);
  });

  it('returns the same map when a set changes nothing or a delete finds nothing', () => {
    const [a, b] = keys([5, 37]) as [HashedKey, HashedKey];
    const map = hamtSet(hamtSet(null, a, 1), b, Number.NaN);
    expect(hamtSet(map, a, 1)).toBe(map);
    expect(hamtSet(map, b, Number.NaN)).toBe(map);
    expect(hamtSet(map, a, -0)).not.toBe(hamtSet(map, a, 0));
    expect(hamtDelete(map, { _hash: 5 })).toBe(map);
  });

  it('keeps keys with equal full hashes apart and removes them one by one', () => {
    const colliding = keys([7, 7, 7]);
    let map: Hamt = null;
    colliding.forEach((key, i) => {
      map = hamtSet(map, key, i);
    });
    const other = { _hash: 7 + 32 };
    map = hamtSet(map, other, 'x');
    expect(colliding.map((key) => hamtGet(map, key))).toEqual([0, 1, 2]);
    map = hamtDelete(map, colliding[1] as HashedKey);
    expect(contents(map)).toEqual(
      new Map<HashedKey, unknown>([
        [colliding[0] as HashedKey, 0],
        [colliding[2] as HashedKey, 2],
        [other, 'x'],
      ]),
    );
  });

  it('stays shallow for 10,000 sequential hashes (3 levels)', () => {
    let map: Hamt = null;
    const all = keys(Array.from({ length: 10_000 }, (_, i) => i));
    for (const key of all) map = hamtSet(map, key, key._hash);
    let depth = 0;
    let node = map;
    while (node !== null) {
      depth++;
      const childIndex = node.keys.indexOf(null);
      node = childIndex === -1 ? null : (node.values[childIndex] as Hamt);
    }
    expect(depth).toBe(3);
    expect(all.every((key) => hamtGet(map, key) === key._hash)).toBe(true);
  });
});
