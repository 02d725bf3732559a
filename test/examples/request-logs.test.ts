import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('the request-logs example: every line, from the main thread and the workers, carries its request id once', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['examples/request-logs/run.mjs', '--requests', '60'],
    { cwd: root },
  );
  expect(stdout).toContain(
    'OK: every request logged its 5 lines, each with exactly one reqId, its own.',
  );
  // The worker's line, with the id and the tenant it was never given.
  expect(stdout).toMatch(/"reqId":"[^"]+","tenant":"acme","ms":\d+,"msg":"hashed a password"/);
});
