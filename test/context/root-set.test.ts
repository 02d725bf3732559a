// The CONTEXTVARS_ROOT_SET warning, each scenario in a fresh process: a set
// in the thread's root context while an HTTP request is in flight.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('fixtures/root-set.mjs', import.meta.url));
const run = promisify(execFile);

async function warningsOf(scenario: string): Promise<{ name: string; message: string }[]> {
  const { stdout } = await run(process.execPath, [fixture, scenario]);
  return JSON.parse(stdout);
}

describe('CONTEXTVARS_ROOT_SET', () => {
  it('a plain node:http server whose handler sets vars warns once per var, naming it and the fixes', async () => {
    const warnings = await warningsOf('plain');
    expect(warnings.map((w) => w.message.match(/ContextVar '(\w+)'/)?.[1])).toEqual([
      'request_id',
      'user',
    ]);
    for (const { name, message } of warnings) {
      expect(name).toBe('ContextVarsWarning');
      expect(message).toContain('requestScope()');
      expect(message).toContain('createServer(bind(handler))');
    }
  });

  it.each(['bound', 'scoped'])('a %s server never warns', async (scenario) => {
    expect(await warningsOf(scenario)).toEqual([]);
  });

  it('a root set at startup or between requests never warns', async () => {
    expect(await warningsOf('idle')).toEqual([]);
  });

  it('a request whose client went away no longer counts once it closed', async () => {
    expect(await warningsOf('aborted')).toEqual([]);
  });

  it('pipelined requests whose connection died before they were answered no longer count', async () => {
    expect(await warningsOf('pipelined')).toEqual([]);
  });

  it('a deliberate root set while a request is in flight warns (the documented false positive)', async () => {
    expect(await warningsOf('timer')).toHaveLength(1);
  });
});
