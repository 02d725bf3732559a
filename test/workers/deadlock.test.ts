// A caller blocked in Atomics.wait on work its tasks do: no task may need a
// second trip through the caller's thread before it starts (its event loop is
// stopped). Each worker gets what it lacks (the handler's module, the
// snapshot base) with the task itself. The waits have a deadline so that a
// regression fails instead of hanging.
import { describe, expect, it } from 'vitest';
import { Context, ContextVar } from '../../dist/index.js';
import { fixture, poolsFor } from './support.js';

const pool = poolsFor({ filename: fixture('blocking.mjs'), minThreads: 2, maxThreads: 2 });
const requestId = new ContextVar<string>('request_id', { default: 'none' });
let unique = 0;

/** Blocks this thread until `cell` counts `n` arrivals; false if the deadline passed first. */
function blockUntil(cell: Int32Array, n: number): boolean {
  const deadline = Date.now() + 10_000;
  for (let seen = Atomics.load(cell, 0); seen < n; seen = Atomics.load(cell, 0)) {
    if (Atomics.wait(cell, 0, seen, deadline - Date.now()) === 'timed-out') return false;
  }
  return true;
}

/** A context far from any earlier one: a new base for every worker. */
function freshContext(id: string): Context {
  const ctx = new Context();
  ctx.run(() => {
    requestId.set(id);
    for (let i = 0; i < 12; i++) new ContextVar<number>(`deadlock_${++unique}`).set(i);
  });
  return ctx;
}

describe('a caller blocked in Atomics.wait', () => {
  it('sees every task start: new bases and new handlers on every worker', async () => {
    const blocking = pool();
    // One task per worker (a queued task waits for the caller's thread in any
    // piscina pool); each round brings a new base, and every other round a
    // handler the workers have not run yet.
    for (let round = 0; round < 6; round++) {
      const cell = new Int32Array(new SharedArrayBuffer(4));
      const ctx = freshContext(`r-${round}`);
      const name = round % 2 === 0 ? 'default' : 'other';
      const tasks = [0, 1].map(() =>
        ctx.run(() => blocking.runInContext<string>({ cell }, { name })),
      );
      // Synchronously blocked here: only the workers can make progress.
      expect(blockUntil(cell, 2)).toBe(true);
      expect(await Promise.all(tasks)).toEqual([`r-${round}`, `r-${round}`]);
    }
  });

  it('sees every task start when the context changes a little (deltas against a base)', async () => {
    const blocking = pool();
    const base = freshContext('base');
    for (let round = 0; round < 5; round++) {
      const cell = new Int32Array(new SharedArrayBuffer(4));
      const tasks = [0, 1].map((i) => {
        const ctx = base.copy();
        ctx.run(() => requestId.set(`r-${round}-${i}`));
        return ctx.run(() => blocking.runInContext<string>({ cell }));
      });
      expect(blockUntil(cell, 2)).toBe(true);
      expect(await Promise.all(tasks)).toEqual([`r-${round}-0`, `r-${round}-1`]);
    }
  });
});
