// The published type declarations compile in a user's project with
// skipLibCheck off: a declaration that re-exports what the build stripped
// (stripInternal) would break every TypeScript user of that subpath.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const projects: string[] = [];
afterAll(() => Promise.all(projects.map((dir) => rm(dir, { recursive: true, force: true }))));

async function compile(lib: string[], subpaths: string[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'contextvars-types-'));
  projects.push(dir);
  await mkdir(join(dir, 'node_modules', '@types'), { recursive: true });
  await symlink(root, join(dir, 'node_modules', 'contextvars'), 'dir');
  await symlink(
    join(root, 'node_modules', '@types', 'node'),
    join(dir, 'node_modules', '@types', 'node'),
    'dir',
  );
  const compilerOptions = {
    strict: true,
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    lib,
    types: ['node'],
    skipLibCheck: false,
    noEmit: true,
  };
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions, files: ['index.ts'] }),
  );
  const imports = subpaths.map((subpath, i) => `import * as m${i} from 'contextvars${subpath}';`);
  await writeFile(
    join(dir, 'index.ts'),
    `${imports.join('\n')}\nexport { ${subpaths.map((_, i) => `m${i}`).join(', ')} };\n`,
  );
  await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir]);
}

it('every subpath but comlink compiles without the DOM library', async () => {
  await expect(
    compile(
      ['es2022', 'esnext.disposable'],
      ['', '/serialization', '/workers', '/otel', '/http', '/bullmq', '/pg-boss'],
    ),
  ).resolves.toBeUndefined();
});

it('contextvars/comlink compiles with the DOM library comlink itself needs', async () => {
  await expect(
    compile(['es2022', 'esnext.disposable', 'dom'], ['', '/comlink', '/workers']),
  ).resolves.toBeUndefined();
});
