// Every way a task or its worker can fail: each rejects only what it must,
// with a coded error, and the pool keeps working.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Context, ContextVar } from '../../dist/index.js';
import { ContextPool, ContextPoolError } from '../../dist/workers/index.js';
import { rejectionOf } from '../support/errors.js';
import { fixture, poolsFor } from './support.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const pool = poolsFor({ filename: fixture('faults.mjs'), maxThreads: 1, minThreads: 1 });

function inRequest<T>(id: string, fn: () => T): T {
  return new Context().run(() => {
    requestId.set(id);
    return fn();
  });
}

describe('a task that throws', () => {
  const faults = pool();

  it("rejects with the worker's error: class, message, stack, cause, code and own primitive properties", async () => {
    const ctx = new Context();
    const throwInContext = () =>
      ctx.run(() => {
        requestId.set('r-throw');
        return rejectionOf(faults.runInContext({ message: 'boom' }, { name: 'throwCoded' }));
      });
    // The first task waits for the module to load, the second finds the handler loaded.
    const [loading, loaded] = [await throwInContext(), await throwInContext()];
    expect(loaded).toEqual(loading);
    const error = loaded as RangeError & Record<string, unknown>;
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('boom');
    expect(error.stack).toMatch(/throwCoded .*faults\.mjs/);
    expect(error.cause).toBeInstanceOf(TypeError);
    expect((error.cause as Error).message).toBe('cause of boom');
    expect([error.code, error.errno, error.seenRequest]).toEqual(['E_TASK', 7, 'r-throw']);
    // The caller's context is untouched.
    expect(ctx.get(requestId)).toBe('r-throw');
  });

  it('keeps the name of other error classes, and carries non-errors and uncarryable errors', async () => {
    const custom = (await rejectionOf(faults.run(undefined, { name: 'throwCustom' }))) as Error & {
      code: string;
    };
    expect([custom.name, custom.code, custom.message]).toEqual([
      'QuotaError',
      'E_QUOTA',
      'over quota',
    ]);
    expect(await rejectionOf(faults.run(undefined, { name: 'throwString' }))).toBe('a bare string');
    const reduced = (await rejectionOf(
      faults.run(undefined, { name: 'throwUncarryable' }),
    )) as Error & {
      code: string;
    };
    expect([reduced.message, reduced.code]).toEqual(['has a function cause', 'E_KEEP']);
  });
});

describe('a result that cannot be cloned', () => {
  it('rejects that task alone with ERR_TASK_RESULT; the worker lives and its siblings finish', async () => {
    const shared = pool({ concurrentTasksPerWorker: 4 });
    const before = await shared.run(undefined, { name: 'whoAmI' });
    const sibling = inRequest('sibling', () => shared.runInContext({ ms: 30 }, { name: 'slow' }));
    const error = await rejectionOf(shared.run(undefined, { name: 'returnFunction' }));
    expect(error).toBeInstanceOf(ContextPoolError);
    expect(error).toMatchObject({ code: 'ERR_TASK_RESULT' });
    expect((error as Error).message).toMatch(/at \.callback is a function/);
    expect(await sibling).toBe('sibling');
    expect(await shared.run(undefined, { name: 'whoAmI' })).toBe(before);
  });
});

describe('a task that cannot be sent', () => {
  it('rejects with ERR_TASK_ARGUMENT naming the path, not as a dead worker', async () => {
    const shared = pool();
    const before = await shared.run(undefined, { name: 'whoAmI' });
    const error = await rejectionOf(
      shared.runInContext({ payload: { callback() {} } }, { name: 'whoAmI' }),
    );
    expect(error).toBeInstanceOf(ContextPoolError);
    expect(error).toMatchObject({ code: 'ERR_TASK_ARGUMENT' });
    expect((error as Error).message).toMatch(/at \.payload\.callback is a function/);
    expect(((error as Error).cause as Error).name).toBe('DataCloneError');
    expect(await shared.run(undefined, { name: 'whoAmI' })).toBe(before);
  });
});

describe('a result with heavy sharing', () => {
  it('is checked in time proportional to its objects, not its paths', async () => {
    const shared = pool();
    const result = (await shared.run({ levels: 40 }, { name: 'returnDag' })) as {
      a: unknown;
      b: unknown;
    };
    expect(result.a).toBe(result.b);
  });
});

describe('a worker that dies', () => {
  it.each([
    ['process.exit', 'exitWorker', { code: 3 }, /exited with code: 3/],
    ['an uncaught exception', 'crashLater', {}, /uncaught in a timer/],
  ])(
    'on %s rejects its own tasks with ERR_WORKER_EXITED; queued tasks then run with their own contexts',
    async (_how, name, task, cause) => {
      const dying = pool({ concurrentTasksPerWorker: 2 });
      const firstThread = await dying.run(undefined, { name: 'whoAmI' });
      const onSameWorker = inRequest('victim', () =>
        dying.runInContext({ ms: 10_000 }, { name: 'slow' }),
      );
      const killer = dying.run(task, { name });
      const queued = ['q-1', 'q-2', 'q-3'].map((id) =>
        inRequest(id, () => dying.runInContext({ ms: 1 }, { name: 'slow' })),
      );
      for (const failed of [await rejectionOf(killer), await rejectionOf(onSameWorker)]) {
        expect(failed).toBeInstanceOf(ContextPoolError);
        expect(failed).toMatchObject({ code: 'ERR_WORKER_EXITED' });
        expect(String(((failed as Error).cause as Error)?.message)).toMatch(cause);
      }
      expect(await Promise.all(queued)).toEqual(['q-1', 'q-2', 'q-3']);
      expect(await dying.run(undefined, { name: 'whoAmI' })).not.toBe(firstThread);
    },
  );

  it('out of memory (resourceLimits) rejects with ERR_WORKER_EXITED and the pool replaces the worker', async () => {
    const small = pool({
      resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 },
    });
    const error = await rejectionOf(small.run(undefined, { name: 'exhaustMemory' }));
    expect(error).toMatchObject({ code: 'ERR_WORKER_EXITED' });
    expect(((error as Error).cause as { code?: string }).code).toBe('ERR_WORKER_OUT_OF_MEMORY');
    expect(
      await inRequest('after-oom', () => small.runInContext({ ms: 1 }, { name: 'slow' })),
    ).toBe('after-oom');
  });

  it('between tasks, does not end the process: it is a coded warning, or an error event for listeners', async () => {
    const quiet = pool();
    // The warning is expected here: keep Node's default printer from showing it as if something failed.
    const printers = process.listeners('warning');
    process.removeAllListeners('warning');
    const warned = new Promise<Error>((resolve) => {
      const onWarning = (warning: Error) => {
        if ((warning as { code?: string }).code !== 'ERR_WORKER_EXITED') return;
        process.off('warning', onWarning);
        resolve(warning);
      };
      process.on('warning', onWarning);
    });
    expect(await quiet.run(undefined, { name: 'crashAfterReturn' })).toBe('returned');
    const warning = await warned;
    expect(warning).toMatchObject({ name: 'ContextPoolError', code: 'ERR_WORKER_EXITED' });
    expect(warning.message).toMatch(/thrown after the task returned/);
    expect(String((warning.cause as Error).message)).toMatch(/thrown after the task returned/);
    for (const printer of printers) process.on('warning', printer);

    const listened = pool();
    const heard = new Promise<unknown>((resolve) => listened.on('error', resolve));
    expect(await listened.run(undefined, { name: 'crashAfterReturn' })).toBe('returned');
    expect(await heard).toMatchObject({ message: 'thrown after the task returned' });
    // Both pools replaced their workers and keep working.
    expect(await quiet.run(undefined, { name: 'whoAmI' })).toEqual(expect.any(Number));
    expect(await listened.run(undefined, { name: 'whoAmI' })).toEqual(expect.any(Number));
  });
});

describe("piscina's own failures get a code", () => {
  it('an aborted task rejects with AbortError, code ABORT_ERR', async () => {
    const abortable = pool();
    const controller = new AbortController();
    const running = abortable.run({ ms: 10_000 }, { name: 'slow', signal: controller.signal });
    controller.abort();
    const error = (await rejectionOf(running)) as Error & { code: string };
    expect([error.name, error.code]).toEqual(['AbortError', 'ABORT_ERR']);
    expect(await abortable.run(undefined, { name: 'whoAmI' })).toEqual(expect.any(Number));
  });

  it('a full queue rejects with ERR_QUEUE_FULL', async () => {
    const tight = pool({ maxQueue: 1 });
    const running = tight.run({ ms: 50 }, { name: 'slow' });
    const queued = tight.run({ ms: 1 }, { name: 'slow' });
    const overflow = await rejectionOf(tight.run({ ms: 1 }, { name: 'slow' }));
    expect(overflow).toMatchObject({ code: 'ERR_QUEUE_FULL', message: 'Task queue is at limit' });
    await Promise.all([running, queued]);
  });

  it('destroy() with tasks in flight and queued rejects them all with ERR_POOL_DESTROYED; none is lost', async () => {
    const doomed = new ContextPool({
      filename: fixture('faults.mjs'),
      maxThreads: 1,
      minThreads: 1,
    });
    const tasks = Array.from({ length: 5 }, () => doomed.run({ ms: 10_000 }, { name: 'slow' }));
    const settled = Promise.allSettled(tasks);
    await new Promise((resolve) => setImmediate(resolve));
    await doomed.destroy();
    const outcomes = await settled;
    expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('rejected'));
    for (const outcome of outcomes) {
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({
        code: 'ERR_POOL_DESTROYED',
      });
    }
  });

  it("a close that times out destroys the rest and emits 'error' ERR_CLOSE_TIMEOUT, as piscina does", async () => {
    const closing = new ContextPool({
      filename: fixture('faults.mjs'),
      maxThreads: 1,
      closeTimeout: 20,
    });
    const slow = closing.run({ ms: 1_000 }, { name: 'slow' }).catch((error: unknown) => error);
    const queued = closing.run({ ms: 1_000 }, { name: 'slow' }).catch((error: unknown) => error);
    const emitted = new Promise((resolve) => closing.once('error', resolve));
    await closing.close();
    expect(await emitted).toMatchObject({ code: 'ERR_CLOSE_TIMEOUT' });
    expect(await slow).toMatchObject({ code: 'ERR_POOL_DESTROYED' });
    expect(await queued).toMatchObject({ code: 'ERR_POOL_DESTROYED' });
  });
});

describe('a worker module that cannot be loaded', () => {
  it.each([
    ['does not exist', undefined],
    ['is not valid JavaScript', 'export default function ( {\n'],
  ])(
    'one that %s is ERR_WORKER_MODULE naming the file; the pool goes on',
    async (_label, source) => {
      const dir = await mkdtemp(join(tmpdir(), 'contextvars-module-'));
      try {
        const file = join(dir, 'worker.mjs');
        if (source !== undefined) await writeFile(file, source);
        const workers = pool();
        const error = await rejectionOf(workers.run(1, { filename: file }));
        expect(error).toBeInstanceOf(ContextPoolError);
        expect((error as ContextPoolError).code).toBe('ERR_WORKER_MODULE');
        expect((error as Error).message).toContain(file);
        expect(await workers.run(3, { filename: fixture('plain-esm.mjs'), name: 'square' })).toBe(
          9,
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('runInContext options run() has no use for', () => {
  it('returnContext must be a boolean, and run() refuses it and context outright', async () => {
    const workers = pool();
    const wrongType = await rejectionOf(workers.runInContext(1, { returnContext: 'yes' as never }));
    expect((wrongType as { code?: string }).code).toBe('ERR_INVALID_ARG_TYPE');
    for (const options of [{ returnContext: true }, { context: new Context() }]) {
      const error = await rejectionOf(workers.run(1, options as never));
      expect((error as { code?: string }).code).toBe('ERR_INVALID_ARG_VALUE');
      expect((error as Error).message).toMatch(/runInContext option/);
    }
  });
});
