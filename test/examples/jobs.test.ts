import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('the jobs example (npm run example:jobs): every job and its retry log the id of their request, on PGlite', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['examples/jobs/run.mjs', '--requests', '6'],
    { cwd: root },
  );
  expect(stdout).toContain(
    'OK: every job and every retry logged the id of the request that enqueued it.',
  );
  expect(stdout).toContain('6 requests, 14 log lines (2 from retries), 0 naming the wrong request');
  // The retry of user-3's email, with the id its request was given.
  const id = stdout.match(/\[request (req-[0-9a-f]+)\] signed up user-3,/)?.[1];
  expect(id).toBeDefined();
  expect(stdout).toContain(`[request ${id}] sending to user-3@example.com failed (attempt 1)`);
  expect(stdout).toContain(
    `[request ${id}] sent the welcome email to user-3@example.com (attempt 2)`,
  );
});
