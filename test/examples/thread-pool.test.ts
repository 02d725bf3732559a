import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('the thread-pool example (npm start): bare piscina loses the request id, ContextPool carries it to every log line', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['examples/thread-pool/run.mjs', '--requests', '100', '--concurrency', '16'],
    { cwd: root },
  );
  expect(stdout).toContain(
    'OK: with ContextPool all 100 log lines carry the request id of their response; with bare piscina 0 do.',
  );
  expect(stdout).toMatch(/log lines with their own request id\s*│\s*0\s*│\s*100/);
  // pino lines: bare piscina's carry no request at all, ContextPool's carry theirs.
  expect(stdout).toMatch(/\{"level":30,"msg":"hashed a password in [\d.]+ ms"\}/);
  expect(stdout).toMatch(
    /\{"level":30,"reqId":"(req-\d+|[\da-f-]{36})","tenant":"(acme|globex|initech)","user":"user-\d+","msg":"hashed a password/,
  );
  expect(stdout).toMatch(/hashing \(in the worker\)/);
});
