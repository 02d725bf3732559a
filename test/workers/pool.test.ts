// ContextPool with real piscina worker threads. Tests load the built package
// (dist) and plain .mjs fixtures: vitest's transform does not reach workers.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Context, ContextVar, copyContext, createTask } from '../../dist/index.js';
import {
  CONTEXT_POOL_DEFAULTS,
  ContextPool,
  type ContextPoolOptions,
} from '../../dist/workers/index.js';
import { rejectionOf } from '../support/errors.js';
import { fixture, poolsFor } from './support.js';

// The same names as fixtures/vars.mjs declares in the workers.
const requestId = new ContextVar<string>('request_id', { default: 'none' });
const user = new ContextVar<unknown>('user', { default: null });
const tenant = new ContextVar<string>('tenant', { default: 'no-tenant' });
const secret = new ContextVar<string>('secret', { default: 'not-here', propagate: false });

// Node 20 has Atomics.waitAsync; TypeScript's ES2023 lib does not declare it.
interface AtomicsWithWaitAsync {
  waitAsync(
    array: Int32Array,
    index: number,
    value: number,
    timeout: number,
  ): { value: Promise<string> | string };
}

const pool = poolsFor();

function inContext<T>(
  values: { requestId?: string | undefined; user?: unknown; tenant?: string | undefined },
  fn: () => T,
): T {
  const ctx = new Context();
  return ctx.run(() => {
    if (values.requestId !== undefined) requestId.set(values.requestId);
    if (values.user !== undefined) user.set(values.user);
    if (values.tenant !== undefined) tenant.set(values.tenant);
    return fn();
  });
}

describe('runInContext and run', () => {
  const shared = pool({ filename: fixture('context.mjs'), maxThreads: 2 });

  it("runs the task in a copy of the caller's context, through awaits, timers and immediates", async () => {
    const profile = { id: 7, roles: new Set(['admin']), since: new Date(0), quota: 10n ** 20n };
    const result = await inContext({ requestId: 'r-1', user: profile, tenant: 'acme' }, () =>
      shared.runInContext<Record<string, Record<string, unknown>>>({}),
    );
    for (const phase of ['atStart', 'afterTimer', 'afterImmediate'] as const) {
      expect(result[phase]).toEqual({
        requestId: 'r-1',
        user: profile,
        tenant: 'acme',
        secret: 'not-here',
      });
    }
  });

  it('takes the snapshot at call time', async () => {
    const ctx = new Context();
    const pending = ctx.run(() => {
      requestId.set('at-call');
      const task = shared.runInContext<string[]>(undefined, { name: 'echoContext' });
      requestId.set('changed-after');
      return task;
    });
    expect((await pending)[0]).toBe('at-call');
  });

  it('takes the context from options.context when given', async () => {
    const other = inContext({ requestId: 'given' }, () => copyContext());
    expect(
      await shared.runInContext<string[]>(undefined, { name: 'echoContext', context: other }),
    ).toEqual(['given', null, 'no-tenant']);
    await expect(shared.runInContext(1, { context: {} as Context })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
    });
  });

  it('run() gives the task an empty context, as a new Python thread gets', async () => {
    const result = await inContext({ requestId: 'r-2', tenant: 'acme' }, () =>
      shared.run<Record<string, Record<string, unknown>>>({}),
    );
    expect(result.atStart).toEqual({
      requestId: 'none',
      user: null,
      tenant: 'no-tenant',
      secret: 'not-here',
    });
  });

  it('never sends propagate:false vars', async () => {
    const result = await new Context().run(() => {
      secret.set('password');
      requestId.set('with-secret');
      return shared.runInContext<Record<string, Record<string, unknown>>>({});
    });
    expect(result.atStart).toMatchObject({ requestId: 'with-secret', secret: 'not-here' });
  });

  it('rejects a context that cannot be serialized before posting anything, naming the var', async () => {
    const completed = shared.completed;
    const error = await inContext({ user: { callback: () => 1 } }, () =>
      rejectionOf(shared.runInContext({})),
    );
    expect(error).toMatchObject({
      code: 'ERR_CONTEXT_SERIALIZE',
      varName: 'user',
      path: '.callback',
    });
    expect(shared.completed).toBe(completed);
    expect(shared.queueSize).toBe(0);
  });
});

describe('isolation', () => {
  it("keeps the worker's changes from the caller, the worker's root context and the next task", async () => {
    const single = pool({ filename: fixture('context.mjs'), maxThreads: 1, minThreads: 1 });
    const ctx = new Context();
    const first = await ctx.run(() => {
      requestId.set('caller');
      return single.runInContext<Record<string, Record<string, unknown>>>({
        set: 'changed-in-worker',
      });
    });
    expect(first.afterSet?.requestId).toBe('changed-in-worker');
    expect(ctx.get(requestId)).toBe('caller');
    expect(first.root?.requestId).toBe('none');
    const next = await single.run<Record<string, unknown>>(undefined, { name: 'root' });
    expect(next.threadId).toBe(first.threadId);
    expect(next.requestId).toBe('none');
    const reused = await single.run<Record<string, Record<string, unknown>>>({});
    expect(reused.atStart?.requestId).toBe('none');
  });

  it('keeps concurrent tasks on one worker apart (concurrentTasksPerWorker > 1)', async () => {
    const concurrent = pool({
      filename: fixture('context.mjs'),
      maxThreads: 1,
      minThreads: 1,
      concurrentTasksPerWorker: 8,
    });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        inContext({ requestId: `caller-${i}` }, () =>
          concurrent.runInContext<{ before: string; after: string; threadId: number }>(
            { value: `task-${i}`, waitMs: 8 - i },
            { name: 'setThenRead' },
          ),
        ),
      ),
    );
    expect(new Set(results.map((r) => r.threadId)).size).toBe(1);
    results.forEach((result, i) => {
      expect(result).toMatchObject({ before: `caller-${i}`, after: `task-${i}` });
    });
  });

  it('10,000 tasks with random contexts each see exactly their own snapshot', async () => {
    const many = pool({
      filename: fixture('context.mjs'),
      maxThreads: 2,
      concurrentTasksPerWorker: 4,
    });
    const contexts = fc.sample(
      fc.record({
        requestId: fc.string({ maxLength: 12 }),
        user: fc.option(fc.record({ id: fc.nat(), name: fc.string({ maxLength: 6 }) }), {
          nil: undefined,
        }),
        tenant: fc.option(fc.constantFrom('acme', 'globex', '김철수'), { nil: undefined }),
      }),
      { numRuns: 10_000, seed: 42 },
    );
    const seen = await Promise.all(
      contexts.map((values) =>
        inContext(values, () => many.runInContext<unknown[]>(undefined, { name: 'echoContext' })),
      ),
    );
    const mismatches = seen.filter(
      (got, i) =>
        JSON.stringify(got) !==
        JSON.stringify([
          contexts[i]?.requestId,
          contexts[i]?.user ?? null,
          contexts[i]?.tenant ?? 'no-tenant',
        ]),
    );
    expect(mismatches).toEqual([]);
  });

  it('createTask flows keep their own contexts through the pool', async () => {
    const shared = pool({ filename: fixture('context.mjs'), maxThreads: 2 });
    const results = await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        createTask(async () => {
          requestId.set(id);
          await new Promise((resolve) => setImmediate(resolve));
          return shared.runInContext<string[]>(undefined, { name: 'echoContext' });
        }),
      ),
    );
    expect(results.map((r) => r[0])).toEqual(['a', 'b', 'c']);
  });
});

describe('plain piscina modules and options', () => {
  it('runs a plain CommonJS module unchanged, default and named exports', async () => {
    const cjs = pool({ filename: fixture('plain-piscina.cjs'), maxThreads: 1 });
    expect(await cjs.runInContext(21)).toBe(42);
    expect(await cjs.run(5, { name: 'triple' })).toBe(15);
  });

  it('runs a plain ESM module, passes workerData through untouched, and takes a per-task filename', async () => {
    const workerData = { config: { region: 'eu' }, list: [1, 2] };
    const esm = pool({ filename: fixture('plain-esm.mjs'), maxThreads: 1, workerData });
    expect(await esm.runInContext({ a: 2, b: 3 })).toBe(5);
    expect(await esm.run(9, { name: 'square' })).toBe(81);
    expect(await esm.run(undefined, { name: 'data' })).toEqual(workerData);
    expect(await esm.run(4, { filename: fixture('plain-piscina.cjs') })).toBe(8);
  });

  it('names a missing export clearly', async () => {
    const esm = pool({ filename: fixture('plain-esm.mjs'), maxThreads: 1 });
    const error = await rejectionOf(esm.run(1, { name: 'nope' }));
    expect(error).toMatchObject({ name: 'ContextPoolError', code: 'ERR_NO_HANDLER' });
    expect((error as Error).message).toMatch(/'nope'.*plain-esm\.mjs/);
  });

  it('moves buffers both ways with Piscina.move', async () => {
    const { move } = await import('piscina');
    const movable = pool({ filename: fixture('movable.mjs'), maxThreads: 1 });
    const buffer = await movable.runInContext<ArrayBuffer>({ size: 1024 });
    expect(buffer.byteLength).toBe(1024);
    expect(new Uint8Array(buffer)[1023]).toBe(7);
    const outgoing = new ArrayBuffer(64);
    expect(await movable.runInContext(move(outgoing), { name: 'length' })).toBe(64);
    expect(outgoing.byteLength).toBe(0); // moved, not copied
  });

  it('loads the user module outside any task context: a module-level timer never keeps one', async () => {
    const timers = pool({ filename: fixture('module-timer.mjs'), maxThreads: 1 });
    const result = await inContext({ requestId: 'loader-task' }, () =>
      timers.runInContext<{ task: string; timer: string[] }>(undefined),
    );
    expect(result.task).toBe('loader-task');
    expect(result.timer).toEqual(['none']);
  });

  it('gives a raw piscina.run task a clear error', async () => {
    const raw = pool({ filename: fixture('plain-esm.mjs'), maxThreads: 1 });
    const error = (await rejectionOf(raw.piscina.run({ a: 1, b: 2 }))) as Error;
    expect(error.message).toMatch(/ERR_NOT_A_CONTEXT_POOL_TASK.*pool\.run\(task\)/);
    expect(await raw.runInContext({ a: 1, b: 2 })).toBe(3);
  });

  it('validates options as piscina does and says which', () => {
    expect(() => new ContextPool({ maxThreads: -1 })).toThrow(/maxThreads/);
    expect(() => new ContextPool({ filename: 42 as unknown as string })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARG_TYPE',
        message: 'options.filename must be a string or null',
      }),
    );
    expect(() => new ContextPool(null as unknown as ContextPoolOptions)).toThrow(/"options"/);
  });

  it('rejects a task with no module to run', async () => {
    const noFile = pool({ maxThreads: 1 });
    await expect(noFile.run(1)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_TYPE',
      message: 'filename must be provided to run() or in options object',
    });
  });

  it("changes piscina's idleTimeout and atomics defaults, and lets work a task leaves behind run in its context", async () => {
    const background = pool({ filename: fixture('background.mjs'), maxThreads: 1, minThreads: 1 });
    expect(background.options.idleTimeout).toBe(CONTEXT_POOL_DEFAULTS.idleTimeout);
    expect(background.options.atomics).toBe('async');
    const flag = new SharedArrayBuffer(8);
    const cell = new Int32Array(flag);
    expect(
      await inContext({ requestId: 'bg-request' }, () => background.runInContext({ flag, ms: 20 })),
    ).toBe('returned');
    // No next task is sent: the timer must still fire, in the task's context.
    const woke = await (Atomics as unknown as AtomicsWithWaitAsync).waitAsync(cell, 0, 0, 5_000)
      .value;
    expect(woke).toBe('ok');
    expect(Atomics.load(cell, 1)).toBe(1);
  });

  it('exposes piscina statistics and events', async () => {
    const stats = pool({ filename: fixture('plain-esm.mjs'), maxThreads: 1, minThreads: 1 });
    const drained = new Promise((resolve) => stats.once('drain', resolve));
    await Promise.all([stats.run({ a: 1, b: 1 }), stats.run({ a: 2, b: 2 })]);
    await drained;
    expect(stats.completed).toBe(2);
    expect(stats.queueSize).toBe(0);
    expect(stats.threads.length).toBe(1);
    expect(stats.utilization).toBeGreaterThanOrEqual(0);
    expect(stats.piscina.completed).toBe(2);
  });
});
