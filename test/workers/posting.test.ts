// When a task's context is copied (DESIGN, Workers): values are shared by
// reference until piscina posts the task, so a task queued behind others
// sees its context's values as they are when it is posted; and what is
// posted is held to the rules of the call. A change made while the task
// waits that breaks them rejects that task alone with ERR_CONTEXT_SERIALIZE
// naming the var or store: never stripped, never over the limits, never
// blamed on the task argument (issue 14, defects 4 and 10).
import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { Context, ContextSerializationError, ContextVar, carry } from '../../dist/index.js';
import { serializeContext } from '../../dist/serialization/index.js';
import type { ContextPool } from '../../dist/workers/index.js';
import { rejectionOf, thrownBy } from '../support/errors.js';
import { fixture, poolsFor } from './support.js';

const user = new ContextVar<Record<string, unknown> | null>('user', { default: null });
const store = new AsyncLocalStorage<Record<string, unknown>>();
const uncarry = carry(store, { name: 'held.store' });
afterAll(() => uncarry());
const pool = poolsFor({ filename: fixture('held.mjs'), maxThreads: 1 });

interface Seen {
  user: Record<string, unknown> | null;
  store: Record<string, unknown> | null;
  plain: boolean;
}

/** A pool whose only worker is busy: tasks sent now wait in piscina's queue until `release()`. */
async function busyPool(): Promise<{ workers: ContextPool; release: () => Promise<void> }> {
  const workers = pool();
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const holding = once(workers, 'message');
  const held = workers.run({ cell }, { name: 'hold' });
  await holding;
  return {
    workers,
    release: async () => {
      Atomics.store(cell, 0, 1);
      Atomics.notify(cell, 0);
      expect(await held).toBe('released');
    },
  };
}

/** A context where `user` holds `value`. */
function contextWith(value: Record<string, unknown>): Context {
  const ctx = new Context();
  ctx.run(() => user.set(value));
  return ctx;
}

class Connection {
  password = 'hunter2';
}

function expectRefusal(error: unknown, name: string, ...words: string[]): void {
  expect(error).toBeInstanceOf(ContextSerializationError);
  expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_SERIALIZE');
  expect((error as Error).message).toContain(`'${name}'`);
  for (const word of words) expect((error as Error).message).toContain(word);
}

describe('a task queued behind others carries its context as it is when piscina posts it', () => {
  it('sees the changes made to mutable values (a var, a store) while it waited', async () => {
    const { workers, release } = await busyPool();
    const value: Record<string, unknown> = { name: 'before' };
    const stored: Record<string, unknown> = { tenant: 'before' };
    const task = store.run(stored, () =>
      workers.runInContext(null, { name: 'seen', context: contextWith(value) }),
    );
    value.name = 'after';
    stored.tenant = 'after';
    await release();
    expect(await task).toEqual({
      user: { name: 'after' },
      store: { tenant: 'after' },
      plain: true,
    });
  });

  it('a class instance added meanwhile rejects that task with ERR_CONTEXT_SERIALIZE naming the var and class, never stripped; the tasks behind it run', async () => {
    const { workers, release } = await busyPool();
    const value: Record<string, unknown> = { name: 'u' };
    const refused = rejectionOf(
      workers.runInContext(null, { name: 'seen', context: contextWith(value) }),
    );
    const behind = workers.runInContext(null, { name: 'seen', context: contextWith({ n: 2 }) });
    value.db = new Connection();
    await release();
    expectRefusal(await refused, 'user', '.db <Connection>', 'class instance');
    expect(((await behind) as Seen).user).toEqual({ n: 2 });
  });

  it('a value grown past maxBytes meanwhile rejects that task with ERR_CONTEXT_SERIALIZE naming the var', async () => {
    const { workers, release } = await busyPool();
    const value: Record<string, unknown> = { name: 'u' };
    const refused = rejectionOf(
      workers.runInContext(null, { name: 'seen', context: contextWith(value) }),
    );
    value.big = 'x'.repeat(20_000_000);
    await release();
    expectRefusal(await refused, 'user', 'maxBytes');
    expect(((await workers.runInContext(null, { name: 'seen' })) as Seen).user).toBeNull();
  });

  it('a function added meanwhile is refused as part of the context (ERR_CONTEXT_SERIALIZE), never blamed on the task argument', async () => {
    const { workers, release } = await busyPool();
    const value: Record<string, unknown> = { name: 'u' };
    const refused = rejectionOf(
      workers.runInContext({ plain: 'task' }, { name: 'seen', context: contextWith(value) }),
    );
    value.callback = () => 1;
    await release();
    expectRefusal(await refused, 'user', '.callback', 'function');
  });

  it('a buffer detached meanwhile is refused as part of the context, naming the var', async () => {
    const { workers, release } = await busyPool();
    const buffer = new ArrayBuffer(8);
    const refused = rejectionOf(
      workers.runInContext(null, { name: 'seen', context: contextWith({ buffer }) }),
    );
    structuredClone(buffer, { transfer: [buffer] });
    await release();
    expectRefusal(await refused, 'user', '.buffer', 'detached');
  });

  it('a carried store changed meanwhile is held to the same rules, naming the store', async () => {
    const { workers, release } = await busyPool();
    const stored: Record<string, unknown> = { tenant: 't' };
    const refused = rejectionOf(
      store.run(stored, () => workers.runInContext(null, { name: 'seen' })),
    );
    stored.client = new Connection();
    await release();
    expectRefusal(await refused, 'held.store', 'carried store', '.client <Connection>');
  });
});

describe('a var holding a detached ArrayBuffer', () => {
  it('is refused at the call with ERR_CONTEXT_SERIALIZE naming the var, never ERR_TASK_ARGUMENT', async () => {
    const buffer = new ArrayBuffer(8);
    structuredClone(buffer, { transfer: [buffer] });
    const view = new Uint8Array(new ArrayBuffer(4));
    structuredClone(view.buffer, { transfer: [view.buffer] });
    for (const value of [{ buffer }, { view }]) {
      const error = await rejectionOf(
        pool().runInContext(null, { name: 'seen', context: contextWith(value) }),
      );
      expectRefusal(error, 'user', 'detached');
      // serializeContext refuses it too, in both formats, rather than sending no bytes.
      for (const format of ['structured', 'json'] as const) {
        expectRefusal(
          thrownBy(() => serializeContext(contextWith(value), { format })),
          'user',
          'detached',
        );
      }
    }
  });
});
