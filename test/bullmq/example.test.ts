import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasRedisServer } from '../support/redis.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe.runIf(hasRedisServer)('the queue example (npm run example:queue)', () => {
  it('runs every job, in two worker processes, in the context of its request, and traces one', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['examples/queue/run.mjs', '--requests', '80', '--concurrency', '16', '--trace'],
      { cwd: root },
    );
    expect(stdout).toContain('OK: all 80 jobs ran and logged in the context of their own request.');
    expect(stdout).toMatch(/jobs that ran in their request context\s*│\s*80/);
    expect(stdout).toMatch(/jobs rendered by worker 1\s*│\s*[1-9]/);
    expect(stdout).toMatch(/jobs rendered by worker 2\s*│\s*[1-9]/);
    expect(stdout).toMatch(
      /POST \/reports +[\d.]+ ms {2}server\n\s+└─ add reports\.render +[\d.]+ ms {2}server\n\s+└─ process reports +[\d.]+ ms {2}worker \d+\n\s+└─ render +[\d.]+ ms {2}worker \d+/,
    );
  });
});
