import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, { types: string; default: string } | string>;
};
const run = promisify(execFile);

// Every code entry point of the exports map, by the name users write.
const entryPoints = Object.keys(pkg.exports)
  .filter((key) => key !== './package.json')
  .map((key) => `contextvars${key.slice(1)}`);

describe('package entry points', () => {
  it('lists types first and points at files that exist after the build', () => {
    for (const target of Object.values(pkg.exports)) {
      if (typeof target === 'string') continue;
      expect(Object.keys(target)[0]).toBe('types');
      expect(existsSync(new URL(target.types, `file://${root}`))).toBe(true);
      expect(existsSync(new URL(target.default, `file://${root}`))).toBe(true);
    }
  });

  it.each(entryPoints)('%s loads with import and with require', async (specifier) => {
    const esm = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import('${specifier}'); console.log(Object.keys(m).sort().join(','))`,
      ],
      { cwd: root },
    );
    const cjs = await run(
      process.execPath,
      [
        '--input-type=commonjs',
        '-e',
        `console.log(Object.keys(require('${specifier}')).sort().join(','))`,
      ],
      { cwd: root },
    );
    const names = esm.stdout.trim();
    expect(names.length).toBeGreaterThan(0);
    expect(cjs.stdout.trim()).toBe(names);
    expect(cjs.stderr).not.toMatch(/ExperimentalWarning/);
  });

  it('the root exports exactly the public API', async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "console.log(Object.keys(await import('contextvars')).sort().join(','))",
      ],
      { cwd: root },
    );
    expect(stdout.trim().split(',')).toEqual([
      'Context',
      'ContextError',
      'ContextSerializationError',
      'ContextVar',
      'LookupError',
      'Token',
      'bind',
      'carry',
      'copyContext',
      'createTask',
    ]);
  });
});
