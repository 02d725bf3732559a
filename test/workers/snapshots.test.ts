// The worker side of the snapshot protocol, driven with hand-made fields, so
// names can arrive before the vars that declare them; and once through real
// workers, for twin vars declared after a base was cached.
import { AsyncLocalStorage } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { Context as BuiltContext, ContextVar as BuiltVar } from '../../dist/index.js';
import { ContextPool } from '../../dist/workers/index.js';
import { Context, ContextVar, carry } from '../../src/index.js';
import { serializeContext } from '../../src/serialization/index.js';
import { limitsFor } from '../../src/serialization/options.js';
import { SnapshotReceiver, SnapshotSender } from '../../src/workers/snapshots.js';
import { fixture } from './support.js';

const limits = limitsFor('structured', {});
let unique = 0;
const fresh = (prefix: string) => `${prefix}_${++unique}`;

let declarations = 0;
const receiverFor = () => new SnapshotReceiver(limits, () => declarations);
const noRetire = () => {};

function contextOf(
  receiver: SnapshotReceiver,
  fields: Parameters<SnapshotReceiver['contextFor']>[0],
): Context {
  return receiver.contextFor(fields, undefined);
}

describe('SnapshotReceiver', () => {
  it('applies removals before changes: a name that moved to another var keeps its new value', () => {
    const name = fresh('moved');
    const receiver = receiverFor();
    receiver.keep(1, [name, 0, 'a']);
    contextOf(receiver, { baseId: 1 });
    const declared = new ContextVar<string>(name);
    const ctx = contextOf(receiver, { baseId: 1, changes: [name, 0, 'b'], removed: [name] });
    expect(ctx.get(declared)).toBe('b');
  });

  it('drops the pending entry a base kept from before the var was declared', () => {
    const name = fresh('late');
    const receiver = receiverFor();
    receiver.keep(7, [name, 0, 'from-base']);
    contextOf(receiver, { baseId: 7 });
    const late = new ContextVar<string>(name, { default: 'unset' });
    const removed = contextOf(receiver, { baseId: 7, removed: [name] });
    expect(removed.run(() => late.get())).toBe('unset');
    const changed = contextOf(receiver, { baseId: 7, changes: [name, 0, 'changed'] });
    expect(changed.get(late)).toBe('changed');
    // One entry for the name, not a var entry beside a stale pending one.
    expect(() => serializeContext(changed)).not.toThrow();
  });

  it('keeps the bases it is given until told to forget them, and uses a one-off base without keeping it', () => {
    const name = fresh('kept');
    const receiver = receiverFor();
    const v = new ContextVar<string>(name);
    receiver.keep(3, [name, 0, 'base']);
    expect(contextOf(receiver, { baseId: 3, changes: [name, 0, 'x'] }).get(v)).toBe('x');
    expect(contextOf(receiver, { baseId: 3 }).get(v)).toBe('base');
    receiver.forget([3]);
    expect(() => contextOf(receiver, { baseId: 3 })).toThrow(/never sent/);
    expect(receiver.contextFor({ baseId: 4 }, [name, 0, 'once']).get(v)).toBe('once');
    expect(() => contextOf(receiver, { baseId: 4 })).toThrow(/never sent/);
  });

  it('refuses a kept base the same way whether or not the task changed it, once a twin var is declared', () => {
    const name = fresh('twin');
    const receiver = receiverFor();
    new ContextVar<string>(name);
    receiver.keep(5, [name, 0, 'base']);
    contextOf(receiver, { baseId: 5 });
    // A module loaded later declares a second propagating var with the same name.
    const twin = new ContextVar<string>(name);
    declarations++;
    const unchanged = () => contextOf(receiver, { baseId: 5 });
    const changed = () => contextOf(receiver, { baseId: 5, changes: [name, 0, 'x'] });
    for (const attempt of [unchanged, changed]) {
      expect(attempt).toThrow(expect.objectContaining({ code: 'ERR_CONTEXT_DESERIALIZE' }));
      expect(attempt).toThrow(new RegExp(name));
    }
    expect(twin.name).toBe(name);
  });
});

describe('SnapshotSender', () => {
  it('sends a delta against a recent base, and the whole snapshot when values are mutable', () => {
    const a = new ContextVar<string>(fresh('a'));
    const b = new ContextVar<unknown>(fresh('b'));
    const sender = new SnapshotSender(limits, noRetire);
    const base = new Context();
    base.run(() => a.set('1'));
    const first = sender.snapshotFor(base);
    expect(first.fields).toEqual({ baseId: 1 });
    expect(first.base?.entries).toEqual([a.name, 0, '1']);
    const next = base.copy();
    next.run(() => a.set('2'));
    expect(sender.snapshotFor(next).fields).toEqual({ baseId: 1, changes: [a.name, 0, '2'] });
    next.run(() => b.set({ mutable: true }));
    expect(sender.snapshotFor(next)).toMatchObject({
      fields: { entries: expect.any(Array) },
      base: undefined,
    });
  });

  it('checks nothing again at post time for primitives and deep-frozen values; mutable values (a var, a store) are checked as they are then', () => {
    const a = new ContextVar<string>(fresh('a'));
    const data = new ContextVar<unknown>(fresh('data'));
    const als = new AsyncLocalStorage<unknown>();
    const uncarry = carry(als, { name: fresh('store') });
    try {
      const sender = new SnapshotSender(limits, noRetire);
      const ctx = new Context();
      ctx.run(() => {
        a.set('1');
        data.set(Object.freeze({ rows: Object.freeze([1, 2]) }));
      });
      const next = ctx.copy();
      next.run(() => a.set('2'));
      const frozenStore = Object.freeze({ tenant: 't' });
      for (const context of [ctx, next]) {
        expect(sender.snapshotFor(context).current).toBeUndefined();
        expect(als.run(frozenStore, () => sender.snapshotFor(context).current)).toBeUndefined();
      }
      const mutable: Record<string, unknown> = { n: 1 };
      const withMutable = ctx.copy();
      withMutable.run(() => data.set(mutable));
      const stored: Record<string, unknown> = { tenant: 't' };
      for (const snapshot of [
        sender.snapshotFor(withMutable),
        als.run(stored, () => sender.snapshotFor(ctx)),
      ]) {
        expect(snapshot.current).toBeTypeOf('function');
        expect(() => snapshot.current?.()).not.toThrow();
      }
      const late = sender.snapshotFor(withMutable);
      const lateStore = als.run(stored, () => sender.snapshotFor(ctx));
      mutable.callback = () => 1;
      stored.callback = () => 1;
      expect(() => late.current?.()).toThrow(
        expect.objectContaining({ code: 'ERR_CONTEXT_SERIALIZE' }),
      );
      expect(() => lateStore.current?.()).toThrow(/carried store/);
    } finally {
      uncarry();
    }
  });

  it('retires the oldest base when a fifth arrives, and says so', () => {
    const retired: number[] = [];
    const sender = new SnapshotSender(limits, (id) => retired.push(id));
    const bases = [];
    // Five contexts far from each other become five bases; four are kept.
    for (let i = 0; i < 5; i++) {
      const ctx = new Context();
      ctx.run(() => {
        for (let j = 0; j < 10 * (i + 2); j++) new ContextVar<number>(fresh('filler')).set(j);
      });
      bases.push(sender.snapshotFor(ctx).base);
    }
    expect(retired).toEqual([1]);
    expect(bases.map((base) => base?.retired)).toEqual([true, false, false, false, false]);
  });
});

describe('twin vars in a worker', () => {
  it('refuses a cached base the same way, changed or not, once a later module declares a twin', async () => {
    const pool = new ContextPool({ filename: fixture('twin-a.mjs'), maxThreads: 1, minThreads: 1 });
    try {
      const twin = new BuiltVar<string>('twin_name');
      const ctx = new BuiltContext();
      ctx.run(() => twin.set('from-main'));
      const changed = ctx.copy();
      changed.run(() => twin.set('changed'));
      expect(await pool.runInContext(undefined, { context: ctx })).toBe('from-main');
      // A second module declares another propagating var with the same name.
      await expect(
        pool.runInContext(undefined, { context: ctx, filename: fixture('twin-b.mjs') }),
      ).rejects.toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE' });
      for (const context of [ctx, changed]) {
        const error = (await pool
          .runInContext(undefined, { context })
          .catch((e: unknown) => e)) as Error;
        expect(error).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE' });
        expect(error.message).toContain("'twin_name'");
      }
    } finally {
      await pool.destroy();
    }
  });
});
