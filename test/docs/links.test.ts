// Every link in the README and the guides under docs/ resolves: relative links
// name a file of the repository, and #anchors a heading of the page they point at.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((file) => file.endsWith('.md'))
    .map((file) => `docs/${file}`),
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The text of a page outside its code blocks. */
function prose(page: string): string {
  return readFileSync(join(root, page), 'utf8').replace(/```[\s\S]*?```/g, '');
}

function anchorsOf(page: string): Set<string> {
  return new Set([...prose(page).matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')));
}

it.each(pages)('every link in %s resolves', (page) => {
  const broken: string[] = [];
  for (const [, target] of prose(page).matchAll(/\]\(([^)\s]+)\)/g)) {
    if (target === undefined || /^[a-z]+:/.test(target)) continue;
    const [path = '', anchor] = target.split('#');
    const file = path === '' ? page : relative(root, join(root, dirname(page), path));
    if (!existsSync(join(root, file))) broken.push(`${target} (no file ${file})`);
    else if (anchor !== undefined && file.endsWith('.md') && !anchorsOf(file).has(anchor)) {
      broken.push(`${target} (no heading #${anchor} in ${file})`);
    }
  }
  expect(broken).toEqual([]);
});
