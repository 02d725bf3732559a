import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// The package as a user gets it: `npm pack` (dist/ is already built by `pretest`,
// so the pack's own build is skipped) installed into a fresh project.
let scratch: string;
let installed: string;
let installOutput: string;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'contextvars-pack-'));
  const { stdout } = await run(
    npm,
    ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch],
    {
      cwd: root,
    },
  );
  const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
  const project = join(scratch, 'app');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  const { stdout: out, stderr } = await run(
    npm,
    ['install', '--offline', '--no-audit', '--no-fund', join(scratch, filename)],
    { cwd: project },
  );
  installOutput = `${out}\n${stderr}`;
  installed = join(project, 'node_modules', 'contextvars');
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function mapsUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.map'))
    .map((file) => join(dir, file));
}

describe('the published package', () => {
  it('installs without running or announcing a build: no install-time script', () => {
    const { scripts = {} } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as {
      scripts?: Record<string, string>;
    };
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) {
      expect(scripts[hook], hook).toBeUndefined();
    }
    expect(installOutput).not.toMatch(/install-scripts|allowScripts/);
  });

  it('every source map it ships points at files it ships', () => {
    const maps = mapsUnder(join(installed, 'dist'));
    expect(maps.length).toBeGreaterThan(50);
    const missing: string[] = [];
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(map, 'utf8')) as { sources: string[] };
      for (const source of sources) {
        const file = resolve(dirname(map), source);
        if (!file.startsWith(installed) || !existsSync(file)) missing.push(`${map} -> ${source}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
