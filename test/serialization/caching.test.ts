import { describe, expect, it, vi } from 'vitest';
import { Context, ContextVar } from '../../src/index.js';
import {
  deserializeContext,
  type SnapshotFormat,
  serializeContext,
} from '../../src/serialization/index.js';
import * as walk from '../../src/serialization/walk.js';

const config = new ContextVar<unknown>('caching_config');
const requestId = new ContextVar<string>('caching_request_id');

/** Counts the inspection walks serialization makes: one per value it encodes. */
function countWalks(): { walks: () => number; restore: () => void } {
  const spy = vi.spyOn(walk, 'walkValue');
  return { walks: () => spy.mock.calls.length, restore: () => spy.mockRestore() };
}

describe.each(['structured', 'json'] as SnapshotFormat[])('%s: caching', (format) => {
  it('encodes deep-frozen data once, however many snapshots carry it', () => {
    const value = Object.freeze({ region: 'eu', limits: Object.freeze([1, 2, 3]) });
    const base = new Context();
    base.run(() => config.set(value));
    const { walks, restore } = countWalks();
    serializeContext(base, { format } as never);
    const afterFirst = walks();
    expect(afterFirst).toBeGreaterThan(0);
    let wire: unknown;
    for (let i = 0; i < 50; i++) {
      const perRequest = base.copy();
      perRequest.run(() => requestId.set(`r-${i}`)); // a new map each time: only the value cache helps
      wire = serializeContext(perRequest, { format } as never);
    }
    expect(walks()).toBe(afterFirst);
    restore();
    expect(deserializeContext(structuredCloneIf(wire as string)).get(requestId)).toBe('r-49');
  });

  it('encodes mutable values at call time: a snapshot holds them as they are then', () => {
    const settings = { theme: 'dark', seen: new Map([['a', 1]]) };
    const ctx = new Context();
    ctx.run(() => config.set(settings));
    const first = deserializeContext(structuredCloneIf(serializeContext(ctx, { format } as never)));
    settings.theme = 'light';
    settings.seen.set('b', 2);
    const second = deserializeContext(
      structuredCloneIf(serializeContext(ctx, { format } as never)),
    );
    expect(first.get(config)).toEqual({ theme: 'dark', seen: new Map([['a', 1]]) });
    expect(second.get(config)).toEqual({
      theme: 'light',
      seen: new Map([
        ['a', 1],
        ['b', 2],
      ]),
    });
  });

  it('never caches a frozen object holding a Map or Date: those can change behind a freeze', () => {
    const seen = new Map<string, number>();
    const frozen = Object.freeze({ seen });
    const ctx = new Context();
    ctx.run(() => config.set(frozen));
    serializeContext(ctx, { format } as never);
    seen.set('later', 1);
    const back = deserializeContext(structuredCloneIf(serializeContext(ctx, { format } as never)));
    expect((back.get(config) as { seen: Map<string, number> }).seen.get('later')).toBe(1);
  });

  it('returns the same encoding for an unchanged context of primitives and frozen data', () => {
    const ctx = new Context();
    const vars = Array.from(
      { length: 1000 },
      (_, i) => new ContextVar<string>(`caching_many_${format}_${i}`),
    );
    ctx.run(() => {
      for (const v of vars) v.set('value');
      config.set(Object.freeze({ nested: Object.freeze(['x']) }));
    });
    const options = { format, maxBytes: 1 << 20 } as never;
    const first = serializeContext(ctx, options);
    const again = serializeContext(ctx.copy(), options);
    if (format === 'structured') expect(again).toBe(first);
    else expect(again).toEqual(first);
  });

  it('never caches a frozen object that reaches mutable data through a cycle, or a frozen getter', () => {
    const mutable = { n: 1 };
    const a: Record<string, unknown> = { mutable };
    const c = Object.freeze({ parent: a });
    a.child = c;
    Object.freeze(a);
    const ctx = new Context();
    ctx.run(() => config.set(a));
    serializeContext(ctx, { format } as never);
    ctx.run(() => config.set(c));
    serializeContext(ctx, { format } as never);
    mutable.n = 2;
    const back = deserializeContext(structuredCloneIf(serializeContext(ctx, { format } as never)));
    const arrived = back.get(config) as { parent: { mutable: { n: number } } };
    expect(arrived.parent.mutable.n).toBe(2);
    expect(Object.isFrozen(arrived.parent.mutable)).toBe(false);
    let calls = 0;
    const withGetter = Object.freeze({
      get now() {
        calls++;
        return calls;
      },
    });
    ctx.run(() => config.set(withGetter));
    const first = deserializeContext(
      structuredCloneIf(serializeContext(ctx, { format } as never)),
    ).get(config);
    const second = deserializeContext(
      structuredCloneIf(serializeContext(ctx, { format } as never)),
    ).get(config);
    expect([first, second]).not.toEqual([{ now: 1 }, { now: 1 }]);
  });

  it('arriving deep-frozen data is frozen again on the receiving side', () => {
    const ctx = new Context();
    ctx.run(() =>
      config.set(Object.freeze({ list: Object.freeze([1, Object.freeze({ k: 'v' })]) })),
    );
    const arrived = deserializeContext(
      structuredCloneIf(serializeContext(ctx, { format } as never)),
    ).get(config) as { list: [number, object] };
    expect(Object.isFrozen(arrived)).toBe(true);
    expect(Object.isFrozen(arrived.list)).toBe(true);
    expect(Object.isFrozen(arrived.list[1])).toBe(true);
  });
});

function structuredCloneIf<T>(wire: T): T {
  return typeof wire === 'string' ? wire : structuredClone(wire);
}
