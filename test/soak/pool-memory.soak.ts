// 200,000 tasks through one pool, each in its own context: heap use stays flat
// on both sides. Long, so outside `npm test`; CI runs it (`npm run test:soak`).
import { afterAll, expect, it } from 'vitest';
import { Context, ContextVar } from '../../dist/index.js';
import { ContextPool } from '../../dist/workers/index.js';
import { heapAfterGc } from '../support/gc.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const tenant = new ContextVar<string>('tenant', { default: 'no-tenant' });
const pool = new ContextPool({
  filename: new URL('../workers/fixtures/soak.mjs', import.meta.url).href,
  maxThreads: 2,
  minThreads: 2,
});
afterAll(() => pool.destroy());

const base = new Context();
base.run(() => tenant.set('acme'));

async function runTasks(from: number, count: number, inFlight = 256): Promise<number> {
  let next = from;
  let wrong = 0;
  const worker = async () => {
    while (next < from + count) {
      const n = next++;
      const ctx = base.copy();
      const seen = await ctx.run(() => {
        requestId.set(`r-${n}`);
        return pool.runInContext<number>(n);
      });
      if (seen !== n) wrong++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return wrong;
}

async function workerHeaps(): Promise<number[]> {
  return Promise.all(pool.threads.map(() => pool.run<number>(undefined, { name: 'heapAfterGc' })));
}

it('keeps main and worker heaps flat over 200,000 tasks', { timeout: 300_000 }, async () => {
  expect(await runTasks(0, 20_000)).toBe(0);
  const mainWarm = heapAfterGc();
  const workersWarm = Math.max(...(await workerHeaps()));
  expect(await runTasks(20_000, 180_000)).toBe(0);
  const mainGrowth = heapAfterGc() - mainWarm;
  const workersGrowth = Math.max(...(await workerHeaps())) - workersWarm;
  // 180,000 more tasks: a leak of even 50 bytes a task would show as 9 MB.
  expect(mainGrowth).toBeLessThan(8 * 1024 * 1024);
  expect(workersGrowth).toBeLessThan(8 * 1024 * 1024);
  expect(pool.completed).toBeGreaterThanOrEqual(200_000);
});
