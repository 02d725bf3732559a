// An abort or a destroy at any moment of a worker's life, including while it
// loads: that task (or what is pending) rejects, and nothing else happens.
// Before the worker entry was CommonJS, about one such round in 300 ended the
// whole process on Node 20 (an assertion in Node's require() of an ES module
// cut short by the termination).
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ContextPool } from '../../dist/workers/index.js';
import { rejectionOf } from '../support/errors.js';
import { fixture, poolsFor } from './support.js';

const script = fileURLToPath(new URL('fixtures/start-stress.mjs', import.meta.url));

it('aborts and destroys pools while their workers start: the process lives, every task settles with its code', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [script, '80'], {
    maxBuffer: 1 << 20,
  });
  const outcomes = JSON.parse(stdout) as Record<string, number>;
  const allowed = ['fulfilled in its context', 'ABORT_ERR', 'ERR_POOL_DESTROYED'];
  expect(Object.keys(outcomes).filter((what) => !allowed.includes(what))).toEqual([]);
  expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBe(80 * 4);
  // Both kinds of interruption happened.
  expect(outcomes.ABORT_ERR).toBeGreaterThan(0);
  expect(outcomes.ERR_POOL_DESTROYED).toBeGreaterThan(0);
});

// piscina 5.3 replaces a worker it ended (the abort of the task it ran, a
// crash) only up to minThreads: with minThreads 0, the tasks queued behind
// waited forever with no worker (issue 14, defect 9; cf. piscina's #805).
describe('a task must never stay queued forever', () => {
  const pool = poolsFor({ minThreads: 0, maxThreads: 1 });
  /** Whether `workers` is left with tasks queued and no worker to run them. */
  const stranded = (workers: ContextPool) => workers.threads.length === 0 && workers.queueSize > 0;

  it('aborting the task the only worker runs does not strand the tasks queued behind it', async () => {
    const workers = pool({ filename: fixture('held.mjs') });
    const abort = new AbortController();
    const holding = once(workers, 'message');
    const aborted = rejectionOf(
      workers.run(
        { cell: new Int32Array(new SharedArrayBuffer(4)) },
        {
          name: 'hold',
          signal: abort.signal,
        },
      ),
    );
    const behind = [1, 2].map(() => workers.run(null, { name: 'seen' }));
    await holding;
    abort.abort();
    expect(await aborted).toMatchObject({ code: 'ABORT_ERR' });
    expect(stranded(workers)).toBe(false);
    expect(await Promise.all(behind)).toHaveLength(2);
  });

  it('a worker that exits does not strand the tasks queued behind its task', async () => {
    const workers = pool({ filename: fixture('faults.mjs') });
    const exited = rejectionOf(workers.run({ code: 3 }, { name: 'exitWorker' }));
    const behind = workers.run({ ms: 1 }, { name: 'slow' });
    expect(await exited).toMatchObject({ code: 'ERR_WORKER_EXITED' });
    expect(stranded(workers)).toBe(false);
    expect(await behind).toBe('none');
  });

  it('aborts landing at any moment while a fresh pool starts its worker and runs its first tasks strand nothing: every task of 30 rounds settles', async () => {
    // About 2 rounds in 5 stranded tasks before the fix.
    let strandedRounds = 0;
    for (let round = 0; round < 30; round++) {
      const workers = pool({ filename: fixture('faults.mjs') });
      const abort = new AbortController();
      const tasks = [0, 1, 2, 3].map((i) =>
        workers.run(
          { ms: i === 0 ? 30 : 1 },
          { name: 'slow', ...(i % 2 === 0 ? { signal: abort.signal } : {}) },
        ),
      );
      const settled = Promise.allSettled(tasks);
      // Spread over the worker's start (50-65 ms here) and its first task's run.
      await new Promise((resolve) => setTimeout(resolve, (round * 13) % 90));
      abort.abort();
      await Promise.allSettled([tasks[0], tasks[2]]);
      if (stranded(workers)) strandedRounds++;
      else expect(await Promise.all([tasks[1], tasks[3]])).toEqual(['none', 'none']);
      await workers.destroy();
      await settled;
    }
    expect(strandedRounds).toBe(0);
  });
});
