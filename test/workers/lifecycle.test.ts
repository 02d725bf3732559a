// An abort or a destroy at any moment of a worker's life, including while it
// loads: that task (or what is pending) rejects, and nothing else happens.
// Before the worker entry was CommonJS, about one such round in 300 ended the
// whole process on Node 20 (an assertion in Node's require() of an ES module
// cut short by the termination).
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

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
