// The docs' recipe for a worker filename that works under tsx in development
// and compiled in production (examples/typescript/pool.ts), run both ways.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const build = fileURLToPath(new URL('../../examples/typescript/build/', import.meta.url));
afterAll(() => rmSync(build, { recursive: true, force: true }));

it('under tsx, the pool names hash.ts and its workers load it in the caller’s context', async () => {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'examples/typescript/main.ts'],
    { cwd: root },
  );
  expect(stdout).toMatch(/^the worker saw r-1:[0-9a-f]{16}\n$/);
});

it('compiled with tsc, the same code names hash.js and runs it in the caller’s context', async () => {
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  await run(process.execPath, [tsc, '-p', 'examples/typescript'], { cwd: root });
  const { stdout } = await run(process.execPath, ['examples/typescript/build/main.js'], {
    cwd: root,
  });
  expect(stdout).toMatch(/^the worker saw r-1:[0-9a-f]{16}\n$/);
});
