// The guides show the code of example files that tests run: every code block
// whose first line names a file (`// examples/...`) is that file's code,
// comments aside, and each guide keeps the recipes it is expected to show.
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { codeLines, fileBlocks } from '../support/code-lines.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const pages = [
  'README.md',
  ...readdirSync(new URL('docs/', root)).map((file) => `docs/${file}`),
].filter((page) => page.endsWith('.md') && page !== 'docs/security.md');

/** The recipes each guide must show (docs/security.md has a test of its own). */
const expected: Record<string, string[]> = {
  'docs/http.md': [
    'examples/request-logs/log.mjs',
    'examples/service/telemetry.mjs',
    'examples/service/service-b.mjs',
  ],
  'docs/pool.md': ['examples/typescript/pool.ts'],
  'docs/stores-and-otel.md': [
    'examples/fastify-request-context/carry.mjs',
    'examples/nestjs-cls/carry.mjs',
  ],
  'docs/queues.md': [
    'examples/jobs/queue.mjs',
    'examples/jobs/server.mjs',
    'examples/jobs/batches.mjs',
    'examples/jobs/bullmq-postgres.mjs',
  ],
};

it.each(Object.entries(expected))('%s shows its recipes', (page, paths) => {
  expect([...fileBlocks(read(page)).keys()]).toEqual(expect.arrayContaining(paths));
});

it.each(pages)('every code block of %s that names a file shows that file’s code', (page) => {
  for (const [path, block] of fileBlocks(read(page))) {
    if (!path.startsWith('examples/')) continue; // an illustration's file name (// main.mjs)
    expect(codeLines(block), path).toEqual(codeLines(read(path)));
  }
});
