// docs/queues.md shows the code of example modules that other tests run
// (examples/jobs: the jobs example test, batches in test/pg-boss/signed.test.ts,
// BullMQ on PostgreSQL in test/bullmq/postgres.test.ts); this keeps the guide's blocks that code
// (comments aside).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { codeLines, fileBlocks } from '../support/code-lines.js';

const root = new URL('../../', import.meta.url);
const guide = readFileSync(new URL('docs/queues.md', root), 'utf8');
const blocks = fileBlocks(guide);

it.each([
  'examples/jobs/queue.mjs',
  'examples/jobs/server.mjs',
  'examples/jobs/batches.mjs',
  'examples/jobs/bullmq-postgres.mjs',
])('the Queues guide shows the code of %s', (path) => {
  const block = blocks.get(path);
  expect(block, `a js block starting with "// ${path}"`).toBeDefined();
  expect(codeLines(block ?? '')).toEqual(codeLines(readFileSync(new URL(path, root), 'utf8')));
});
