// TypeScript worker modules: compiled JS is the plain way; a loader given to
// the workers through execArgv is the other, tested here with tsx. Node 22 and
// 24 apply `--import tsx` in workers; Node 20 does not, and uses the CommonJS
// hook (`--require tsx/cjs`) instead.
import { afterAll, expect, it } from 'vitest';
import { Context, ContextVar } from '../../dist/index.js';
import { ContextPool } from '../../dist/workers/index.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const pool = new ContextPool({
  filename: new URL('fixtures/typed-worker.ts', import.meta.url).href,
  maxThreads: 1,
  execArgv: ['--import', 'tsx', '--require', 'tsx/cjs'],
});

afterAll(() => pool.destroy());

it('runs a .ts worker module through a loader in execArgv, in the caller’s context', async () => {
  const greeting = await new Context().run(() => {
    requestId.set('r-ts');
    return pool.runInContext<string>('typed');
  });
  expect(greeting).toBe('r-ts:typed');
});
