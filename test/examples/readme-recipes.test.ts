// The README shows the store recipes' code; this keeps it the code that the
// recipe tests run (comments aside).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { codeLines } from '../support/code-lines.js';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

it.each(['examples/fastify-request-context/carry.mjs', 'examples/nestjs-cls/carry.mjs'])(
  'the README shows the code of %s',
  (path) => {
    const block = readme.match(new RegExp(`\`\`\`js\\n// ${path}\\n([\\s\\S]*?)\`\`\``))?.[1];
    expect(block, `a js block starting with "// ${path}"`).toBeDefined();
    expect(codeLines(block ?? '')).toEqual(codeLines(readFileSync(new URL(path, root), 'utf8')));
  },
);
