import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('the thread-pool example (npm start) answers every request and every worker log line carries its request id', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['examples/thread-pool/run.mjs', '--requests', '200', '--concurrency', '50'],
    { cwd: root },
  );
  expect(stdout).toContain('OK: all 200 log lines carry the request id of their response.');
  expect(stdout).toMatch(/log lines matching their response\s*│\s*200/);
  expect(stdout).toMatch(
    /\[request req-\d+\] \[(acme|globex|initech)\/user-\d+\] hashed a password/,
  );
});
