// docs/security.md shows code from examples/security/: every js block there
// names its file and is that file's code (comments aside) up to the checks
// the guide leaves out; and each file runs, its own checks passing.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasRedisServer } from '../support/redis.js';

const root = new URL('../../', import.meta.url);
const guide = readFileSync(new URL('docs/security.md', root), 'utf8');
const CHECKS = '// ---- checks (not shown in docs/security.md) ----';

/** The lines of code in `text`: line comments and blank lines left out. */
function codeLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.replace(/\s*\/\/.*$/, ''))
    .filter((line) => line.trim() !== '');
}

const blocks = [...guide.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
const files = blocks.map((block) => /^\/\/ (examples\/security\/[\w-]+\.mjs)\n/.exec(block)?.[1]);

describe('docs/security.md', () => {
  it('has snippets, and every js block names the example file it shows', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(4);
    expect(files.filter((file) => file === undefined)).toEqual([]);
  });

  it.each(blocks.map((block, i) => [files[i], block] as const))(
    'shows the code of %s',
    (file, block) => {
      const source = readFileSync(new URL(file ?? '', root), 'utf8');
      expect(source).toContain(CHECKS);
      expect(codeLines(block)).toEqual(codeLines(source.slice(0, source.indexOf(CHECKS))));
    },
  );

  it.each(files.map((file) => [file, file?.endsWith('jobs.mjs') === true] as const))(
    'runs %s, its checks passing',
    async (file, needsRedis) => {
      if (needsRedis && !hasRedisServer) return;
      const { stdout } = await promisify(execFile)(process.execPath, [file ?? ''], {
        cwd: fileURLToPath(root),
        timeout: 60_000,
      });
      expect(stdout).toMatch(/^ok: [\w-]+$/m);
    },
  );
});
