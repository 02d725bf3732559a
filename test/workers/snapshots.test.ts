// The worker side of the snapshot protocol, driven with hand-made fields, so
// names can arrive before the vars that declare them.
import { describe, expect, it } from 'vitest';
import { Context, ContextVar } from '../../src/index.js';
import { serializeContext } from '../../src/serialization/index.js';
import { limitsFor } from '../../src/serialization/options.js';
import { SnapshotReceiver, SnapshotSender } from '../../src/workers/snapshots.js';

const limits = limitsFor('structured', {});
let unique = 0;
const fresh = (prefix: string) => `${prefix}_${++unique}`;

function contextOf(
  receiver: SnapshotReceiver,
  fields: Parameters<SnapshotReceiver['contextFor']>[0],
): Context {
  const ctx = receiver.contextFor(fields);
  if (ctx === undefined) throw new Error('unexpected miss');
  return ctx;
}

describe('SnapshotReceiver', () => {
  it('applies removals before changes: a name that moved to another var keeps its new value', () => {
    const name = fresh('moved');
    const receiver = new SnapshotReceiver(limits);
    contextOf(receiver, { b: 1, be: [name, 0, 'a'] });
    const declared = new ContextVar<string>(name);
    const ctx = contextOf(receiver, { b: 1, d: [name, 0, 'b'], r: [name] });
    expect(ctx.get(declared)).toBe('b');
  });

  it('drops the pending entry a base kept from before the var was declared', () => {
    const name = fresh('late');
    const receiver = new SnapshotReceiver(limits);
    contextOf(receiver, { b: 7, be: [name, 0, 'from-base'] });
    const late = new ContextVar<string>(name, { default: 'unset' });
    const removed = contextOf(receiver, { b: 7, r: [name] });
    expect(removed.run(() => late.get())).toBe('unset');
    const changed = contextOf(receiver, { b: 7, d: [name, 0, 'changed'] });
    expect(changed.get(late)).toBe('changed');
    // One entry for the name, not a var entry beside a stale pending one.
    expect(() => serializeContext(changed)).not.toThrow();
  });

  it('answers a miss for a base it does not have, and builds it when the base comes along', () => {
    const name = fresh('missing');
    const receiver = new SnapshotReceiver(limits);
    expect(receiver.contextFor({ b: 3, d: [name, 0, 'x'] })).toBeUndefined();
    const v = new ContextVar<string>(name);
    expect(contextOf(receiver, { b: 3, be: [name, 0, 'base'], d: [name, 0, 'x'] }).get(v)).toBe(
      'x',
    );
    expect(contextOf(receiver, { b: 3 }).get(v)).toBe('base');
  });
});

describe('SnapshotSender', () => {
  it('sends a delta against a recent base, and the whole snapshot when values are mutable', () => {
    const a = new ContextVar<string>(fresh('a'));
    const b = new ContextVar<unknown>(fresh('b'));
    const sender = new SnapshotSender(limits);
    const base = new Context();
    base.run(() => a.set('1'));
    expect(sender.fieldsFor(base)).toMatchObject({ b: 1, be: [a.name, 0, '1'] });
    const next = base.copy();
    next.run(() => a.set('2'));
    expect(sender.fieldsFor(next)).toEqual({ b: 1, d: [a.name, 0, '2'] });
    next.run(() => b.set({ mutable: true }));
    expect(sender.fieldsFor(next)).toHaveProperty('e');
  });

  it('after its base is gone, resends the snapshot it is given', () => {
    const v = new ContextVar<string>(fresh('evicted'));
    const sender = new SnapshotSender(limits);
    const ctx = new Context();
    ctx.run(() => v.set('first'));
    const fields = sender.fieldsFor(ctx);
    // Four contexts far from it (and from each other) become the four bases kept.
    for (let i = 0; i < 4; i++) {
      const other = new Context();
      other.run(() => {
        for (let j = 0; j < 10 * (i + 2); j++) new ContextVar<number>(fresh('filler')).set(j);
      });
      expect(sender.fieldsFor(other)).toHaveProperty('be');
    }
    expect(sender.withBase({ b: fields.b as number }, ctx)).toEqual({ e: [v.name, 0, 'first'] });
  });
});
