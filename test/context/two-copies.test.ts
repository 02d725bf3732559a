import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_LAYOUT } from '../../src/context/state.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let workspace: string;
let report: Record<string, unknown>;

// Copies the built package as it would sit in node_modules of two dependents.
async function installCopy(dir: string): Promise<string> {
  const target = join(workspace, dir, 'node_modules', 'contextvars');
  await cp(join(root, 'dist'), join(target, 'dist'), { recursive: true });
  await cp(join(root, 'package.json'), join(target, 'package.json'));
  return join(target, 'dist', 'index.js');
}

beforeAll(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'contextvars-copies-'));
  const a = await installCopy('a');
  const b = await installCopy('b');
  const other = await installCopy('other');
  const stateModule = join(other, '..', 'context', 'state.js');
  const source = await readFile(stateModule, 'utf8');
  const patched = source.replace(
    /STATE_LAYOUT = (\d+);/,
    (_, layout) => `STATE_LAYOUT = ${Number(layout) + 1};`,
  );
  expect(patched).not.toBe(source);
  await writeFile(stateModule, patched);
  const { stdout } = await promisify(execFile)(process.execPath, [
    fileURLToPath(new URL('fixtures/two-copies.mjs', import.meta.url)),
    a,
    b,
    other,
  ]);
  report = JSON.parse(stdout) as Record<string, unknown>;
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

describe('two copies of the package in one thread share one state', () => {
  it('are really two copies', () => {
    expect(report.distinctClasses).toBe(true);
  });

  it("a var of copy A works inside copy B's run", () => {
    expect(report.aVarInBRun).toEqual(['set-in-b-run', 'set-in-b-run']);
  });

  it('share one root context', () => {
    expect(report.rootShared).toBe('root-value');
  });

  it("B's reset takes A's token", () => {
    expect(report.bResetTakesAToken).toEqual(['a-default', true]);
  });

  it('instanceof holds across copies for vars, contexts and errors', () => {
    expect(report.instanceofAcross).toEqual({
      var: true,
      context: true,
      lookupError: [true, true],
      contextError: true,
    });
  });

  it("a context entered through A counts as entered for B's run", () => {
    expect(report.enteredAcross).toBe('ERR_CONTEXT_ENTERED');
  });

  it("A's createTask copies the context B's run made current", () => {
    expect(report.taskAcross).toEqual(['b-value', 'a-default']);
  });

  it("B's copyContext sees entries set through both copies", () => {
    expect(report.contextMapAcross).toEqual([2, 2, true]);
  });

  it("copy B's deserializeContext finds a var declared through copy A (one name registry)", () => {
    expect(report.registryShared).toEqual([1, 'hello']);
  });

  it('a copy with another state layout imports, then fails at first use naming both', () => {
    expect(report.otherLayoutImports).toBe(true);
    const failure = report.otherLayoutFirstUse as {
      code: string;
      message: string;
      isContextError: boolean;
    };
    expect(failure.code).toBe('ERR_STATE_LAYOUT');
    expect(failure.isContextError).toBe(true);
    expect(failure.message).toMatch(
      new RegExp(`state layout ${STATE_LAYOUT} from file:.*/a/node_modules/contextvars/`),
    );
    expect(failure.message).toMatch(
      new RegExp(`layout ${STATE_LAYOUT + 1} from file:.*/other/node_modules/contextvars/`),
    );
    expect(report.otherLayoutCopyContext).toBe('ERR_STATE_LAYOUT');
    expect(report.firstCopyStillWorks).toBe('still');
  });
});
