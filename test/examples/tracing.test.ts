import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../examples/tracing/run.mjs', import.meta.url));

it('the tracing example (npm run example:tracing) nests every worker span under its request', async () => {
  const { stdout } = await run(process.execPath, [script]);
  const traces = stdout.split('\ntrace ').slice(1);
  expect(traces).toHaveLength(3);
  for (const trace of traces) {
    const lines = trace.trim().split('\n');
    expect(lines[1]).toMatch(/^GET \/login\?user=\d .* main thread$/);
    expect(lines[2]).toMatch(/^ {3}└─ hash password .* worker thread \d+$/);
    expect(lines[3]).toMatch(/^ {6}└─ make salt .* worker thread \d+$/);
    expect(lines[4]).toMatch(/^ {6}└─ pbkdf2 .* worker thread \d+$/);
  }
  expect(stdout).toMatch(/3 requests, 9 worker spans nested under them, 0 orphaned/);
});
