import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { EXCLUSIONS } from './exclusions.js';

/** One finished test of piscina's suite, as reporter.mjs writes it. */
interface Result {
  readonly file: string;
  readonly path: readonly string[];
  readonly status: 'pass' | 'fail' | 'skip' | 'todo';
  readonly error?: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const piscinaRoot = resolve(dirname(createRequire(import.meta.url).resolve('piscina')), '..');
/** Longer than the slowest piscina test here (about 10 s); a hung test fails alone. */
const TEST_TIMEOUT_MS = 60_000;

/**
 * Runs piscina's own test files (node:test, TypeScript through tsx), read
 * from the installed package, with every import of piscina in them redirected
 * to the adapter; `mode` is what their `pool.run` becomes.
 */
async function runSuite(mode: 'runInContext' | 'run'): Promise<Result[]> {
  const out = mkdtempSync(join(tmpdir(), 'piscina-suite-'));
  const results = join(out, 'results.jsonl');
  const files = readdirTests();
  const child = spawn(
    process.execPath,
    [
      '--import=tsx',
      `--require=${join(here, 'redirect.cjs')}`,
      '--test',
      `--test-timeout=${TEST_TIMEOUT_MS}`,
      '--test-concurrency=1',
      `--test-reporter=${join(here, 'reporter.mjs')}`,
      `--test-reporter-destination=${results}`,
      ...files,
    ],
    {
      cwd: piscinaRoot,
      env: { ...process.env, CONTEXTVARS_PISCINA_MODE: mode, NODE_OPTIONS: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  await new Promise<void>((done) => child.on('close', () => done()));
  try {
    const lines = readFileSync(results, 'utf8').split('\n').filter(Boolean);
    return lines.map((line) => JSON.parse(line) as Result);
  } catch (error) {
    throw new Error(`piscina's suite wrote no results: ${String(error)}\n${stderr}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function readdirTests(): string[] {
  const dir = join(piscinaRoot, 'test');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.test.ts'))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * Declares one vitest test per piscina test, so each counts in
 * `N passed, M failed`: a pass passes, a failure fails with piscina's
 * assertion, a test on the exclusion list is skipped with its reason in the
 * title, and a test piscina itself skips here is skipped with that said.
 */
export async function declarePiscinaSuite(mode: 'runInContext' | 'run'): Promise<void> {
  const results = await runSuite(mode);
  const exclusions = EXCLUSIONS.filter((entry) => entry.mode === undefined || entry.mode === mode);
  const seen = new Map<string, number>();
  for (const result of results) {
    const name = result.path.join(' > ');
    const key = `${result.file} > ${name}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    const title = `piscina ${key}${count > 1 ? ` (#${count})` : ''}`;
    const excluded = exclusions.find((entry) => entry.file === result.file && entry.test === name);
    if (excluded !== undefined) {
      test.skip(`${title} [excluded, ${excluded.reason}: ${excluded.why}]`, () => {});
    } else if (result.status === 'skip' || result.status === 'todo') {
      test.skip(`${title} [skipped by piscina's own suite on this platform]`, () => {});
    } else {
      test(title, () => {
        if (result.status === 'fail') throw new Error(result.error ?? 'failed');
      });
    }
  }

  test(`piscina's suite ran whole (${mode})`, () => {
    // Every file reported at least one test, and no file failed outside its tests.
    const files = new Set(results.map((result) => result.file));
    expect([...files].sort()).toEqual(
      readdirTests().map((file) => file.slice(piscinaRoot.length + 1)),
    );
    expect(results.length).toBeGreaterThan(140);
  });

  test(`every exclusion names a test that exists and fails (${mode})`, () => {
    for (const entry of exclusions) {
      const result = results.find(
        (candidate) => candidate.file === entry.file && candidate.path.join(' > ') === entry.test,
      );
      expect(result, `${entry.file} > ${entry.test}`).toBeDefined();
      expect(
        result?.status,
        `${entry.file} > ${entry.test} passes now: drop it from the list`,
      ).toBe('fail');
    }
  });
}
