import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

// The seven lines the seed says Python prints, then the copy_context example.
const expected = [
  'Processing request: 1',
  'Processing all: test_all',
  'Processing request: 2',
  'Processing all: test2',
  'Processing request: 3',
  'Processing all: test_all',
  'Processing all: test_all',
  'original',
  'copied',
];

it('the seed example prints exactly what CPython prints for it', async () => {
  const [python, node] = await Promise.all([
    run('python3', [fileURLToPath(new URL('fixtures/seed.py', import.meta.url))]),
    run(process.execPath, ['examples/seed.mjs'], { cwd: root }),
  ]);
  expect(python.stdout.trimEnd().split('\n')).toEqual(expected);
  expect(node.stdout).toBe(python.stdout);
  expect(node.stderr).toBe('');
});
