import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasRedisServer } from '../support/redis.js';

const script = fileURLToPath(new URL('../../examples/service/run.mjs', import.meta.url));

describe.runIf(hasRedisServer)('the service example (npm run example:service)', () => {
  it('one order is one trace across both services, the pool and the job, and every log line carries its request id', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [script]);
    const tree = stdout.split('\n\n')[1]?.split('\n') ?? [];
    const shape = tree.map((line) => line.replace(/ +[\d.]+ ms {2}/, ' | ').trimEnd());
    expect(shape).toEqual([
      'POST (server) | service A',
      '   └─ place order | service A',
      expect.stringMatching(/^ {6}└─ price \| service A, thread \d+$/),
      '      └─ GET (client) | service A',
      '         └─ GET (server) | service B',
      '            └─ check stock | service B',
      '      └─ ship | jobs',
      '      └─ ship | jobs',
    ]);
    for (const where of ['service A', 'service B', 'jobs']) {
      expect(stdout).toMatch(new RegExp(`^${where} +reqId=order-0  `, 'm'));
    }
    expect(stdout).toMatch(/^jobs +reqId=order-0 {2}attempt failed$/m);
    expect(stdout).toMatch(/^service A, thread \d+ +reqId=order-0 {2}priced the order$/m);
    expect(stdout).toContain('5 of 5 traces are one tree of 8 spans; 45 of 45 log lines');
    expect(stdout.trimEnd().endsWith('OK')).toBe(true);
  });
});
