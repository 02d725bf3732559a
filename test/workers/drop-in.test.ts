// ContextPool where code written for piscina expects piscina: events, instance
// API, worker module shapes, options. piscina's own suite runs in
// test/piscina; these pin what that suite does not reach.
import { EventEmitter, once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { describe, expect, it } from 'vitest';
import { Context, ContextVar } from '../../dist/index.js';
import { ContextPool, isWorkerThread, workerData } from '../../dist/workers/index.js';
import { rejectionOf } from '../support/errors.js';
import { fixture, poolsFor } from './support.js';

const pool = poolsFor({ maxThreads: 1, minThreads: 1 });
const requestId = new ContextVar<string>('request_id', { default: 'none' });

describe('an EventEmitter with piscina events', () => {
  it('is an EventEmitter whose listeners come and go as on any emitter', async () => {
    const events = pool({ filename: fixture('faults.mjs') });
    expect(events).toBeInstanceOf(EventEmitter);
    // piscina's backpressure idiom, many times over: no listener is left behind.
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    for (let i = 0; i < 20; i++) {
      const drained = once(events, 'drain');
      await events.run(undefined, { name: 'whoAmI' });
      events.emit('drain');
      await drained;
    }
    process.off('warning', onWarning);
    expect(events.listenerCount('drain')).toBe(0);
    expect(events.listenerCount('error')).toBe(0);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it("rejects a pending events.once(pool, ...) with a worker's error, and lives on", async () => {
    const events = pool({ filename: fixture('faults.mjs') });
    const closed = once(events, 'close');
    await events.run(undefined, { name: 'crashAfterReturn' });
    expect(await rejectionOf(closed)).toMatchObject({ code: 'ERR_WORKER_EXITED' });
    expect(events.listenerCount('close')).toBe(0);
    expect(events.listenerCount('error')).toBe(0);
    expect(await events.run(undefined, { name: 'whoAmI' })).toEqual(expect.any(Number));
  });

  it("emits workerCreate and workerDestroy with piscina's worker view", async () => {
    const events = new ContextPool({
      filename: fixture('faults.mjs'),
      minThreads: 1,
      maxThreads: 1,
    });
    const [created] = (await once(events, 'workerCreate')) as [{ id: number }];
    const destroyed = once(events, 'workerDestroy');
    await events.destroy();
    expect(((await destroyed) as [{ id: number }])[0].id).toBe(created.id);
  });
});

describe("piscina's instance API", () => {
  it('has every member piscina has', async () => {
    const api = pool({ filename: fixture('faults.mjs') });
    await api.run(undefined, { name: 'whoAmI' });
    const bare = new Piscina({ filename: fixture('plain-esm.mjs') });
    const missing = Object.getOwnPropertyNames(Piscina.prototype).filter((name) => !(name in api));
    await bare.destroy();
    expect(missing).toEqual([]);
    expect(api.maxThreads).toBe(1);
    expect(api.minThreads).toBe(1);
    expect(api.idleThreads).toBe(1);
    expect(api.duration).toBeGreaterThan(0);
    expect(api.histogram.runTime).toMatchObject({ p50: expect.any(Number) });
    expect(api.completed).toBe(1);
  });

  it('has piscina statics: move, the symbols, isWorkerThread, workerData', () => {
    expect(ContextPool.move).toBe(Piscina.move);
    expect(ContextPool.queueOptionsSymbol).toBe(Piscina.queueOptionsSymbol);
    expect(ContextPool.transferableSymbol).toBe(Piscina.transferableSymbol);
    expect(ContextPool.valueSymbol).toBe(Piscina.valueSymbol);
    expect(ContextPool.isWorkerThread).toBe(false);
    expect(isWorkerThread).toBe(false);
    expect(workerData).toBe(Piscina.workerData);
  });
});

describe('worker modules as piscina loads them', () => {
  it('awaits an export that is a promise of the handler (CommonJS and ESM)', async () => {
    expect(await pool({ filename: fixture('promised-handler.cjs') }).run('x')).toBe('promised:x');
    expect(await pool({ filename: fixture('promised-handler.mjs') }).run('y')).toBe(
      'promised-esm:y',
    );
  });

  it('finds named handlers hung on a CommonJS function export', async () => {
    const named = pool({ filename: fixture('named-on-function.cjs') });
    expect(await named.run({}, { name: 'b' })).toBe('b');
    expect(await named.run({})).toBe('a');
    expect(await rejectionOf(named.run({}, { name: 'c' }))).toMatchObject({
      code: 'ERR_NO_HANDLER',
    });
  });

  it('gives worker modules workerData and isWorkerThread from contextvars/workers', async () => {
    const data = { prefix: 'p', list: [1, 2] };
    const report = pool({ filename: fixture('worker-data.mjs'), workerData: data });
    expect(await report.run(undefined)).toEqual({ workerData: data, isWorkerThread: true });
  });

  it('names a TypeScript module no loader can read, and the fix (ERR_WORKER_MODULE)', async () => {
    const ts = pool({ filename: fixture('needs-loader.ts'), execArgv: [] });
    const error = (await rejectionOf(ts.run(undefined))) as Error & { code: string };
    expect(error).toMatchObject({ name: 'ContextPoolError', code: 'ERR_WORKER_MODULE' });
    expect(error.message).toContain('needs-loader.ts');
    expect(error.message).toContain("execArgv: ['--import', 'tsx'");
    // The worker lives on, and says it again to the next task.
    expect(await rejectionOf(ts.run(undefined))).toMatchObject({ code: 'ERR_WORKER_MODULE' });
  });
});

describe('options as piscina reads them', () => {
  it('reads own properties only', async () => {
    const inherited = Object.create({ filename: fixture('faults.mjs') }) as object;
    const ignoring = pool(inherited);
    expect(ignoring.options.filename).toBe(null);
    expect(await rejectionOf(ignoring.run(undefined))).toMatchObject({
      message: 'filename must be provided to run() or in options object',
    });
    const runInherited = Object.create({ name: 'whoAmI' }) as object;
    const named = pool({ filename: fixture('faults.mjs') });
    expect(await rejectionOf(named.run(undefined, runInherited))).toMatchObject({
      code: 'ERR_NO_HANDLER',
    });
    // Nor what Object.prototype was given.
    Object.defineProperty(Object.prototype, 'name', {
      value: 'whoAmI',
      configurable: true,
      writable: true,
    });
    try {
      expect(await rejectionOf(named.run(undefined, {}))).toMatchObject({ code: 'ERR_NO_HANDLER' });
    } finally {
      delete (Object.prototype as { name?: unknown }).name;
    }
    expect(await named.run(undefined, { name: 'whoAmI' })).toEqual(expect.any(Number));
  });

  it.each([
    [{ signal: 42 }, 'signal argument must be an object'],
    [{ transferList: 42 }, 'transferList argument must be an Array'],
    [{ name: 42 }, 'name argument must be a string'],
    [{ filename: 42 }, 'filename argument must be a string'],
    [42, 'options must be an object'],
  ])('refuses run options %j up front as piscina does: %s', async (options, message) => {
    const checked = pool({ filename: fixture('faults.mjs') });
    for (const run of [checked.run, checked.runInContext]) {
      const error = await rejectionOf(run.call(checked, undefined, options as never));
      expect(error).toBeInstanceOf(TypeError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARG_TYPE', message });
    }
    expect(checked.completed).toBe(0);
  });

  it('gives a custom taskQueue the queue options of each task', async () => {
    const seen: unknown[] = [];
    const queue = {
      tasks: [] as unknown[],
      get size() {
        return this.tasks.length;
      },
      shift() {
        return this.tasks.shift() ?? null;
      },
      push(task: Record<symbol, unknown>) {
        seen.push(task[Piscina.queueOptionsSymbol]);
        this.tasks.push(task);
      },
      remove(task: unknown) {
        this.tasks.splice(this.tasks.indexOf(task), 1);
      },
    };
    const queued = pool({ filename: fixture('faults.mjs'), taskQueue: queue as never });
    const task = (priority: number) => ({ [Piscina.queueOptionsSymbol]: { priority } });
    await Promise.all([1, 2, 3].map((p) => queued.runInContext(task(p), { name: 'whoAmI' })));
    // The first task goes straight to the idle worker; the others wait in the queue.
    expect(new Set(seen.map((options) => JSON.stringify(options)))).toEqual(
      new Set(['{"priority":2}', '{"priority":3}']),
    );
  });
});

describe('close()', () => {
  it('waits for queued tasks as well as running ones; force rejects the queued ones', async () => {
    const closing = new ContextPool({ filename: fixture('faults.mjs'), maxThreads: 2 });
    const tasks = Array.from({ length: 8 }, () => closing.run({ ms: 20 }, { name: 'slow' }));
    const closed = closing.close();
    expect(await rejectionOf(closing.run({ ms: 1 }, { name: 'slow' }))).toMatchObject({
      code: 'ABORT_ERR',
    });
    await closed;
    expect(await Promise.allSettled(tasks)).toEqual(
      tasks.map(() => ({ status: 'fulfilled', value: 'none' })),
    );

    // Two close() calls at once both wait for the same tasks.
    const twice = new ContextPool({
      filename: fixture('faults.mjs'),
      maxThreads: 1,
      closeTimeout: 2_000,
    });
    const errors: unknown[] = [];
    twice.on('error', (error) => errors.push(error));
    const both = Array.from({ length: 3 }, () => twice.run({ ms: 10 }, { name: 'slow' }));
    await Promise.all([twice.close(), twice.close()]);
    expect(await Promise.all(both)).toEqual(['none', 'none', 'none']);
    expect(errors).toEqual([]);

    const forced = new ContextPool({ filename: fixture('faults.mjs'), maxThreads: 1 });
    const running = forced.run({ ms: 20 }, { name: 'slow' });
    const queued = rejectionOf(forced.run({ ms: 20 }, { name: 'slow' }));
    await new Promise((resolve) => setImmediate(resolve));
    await forced.close({ force: true });
    expect(await running).toBe('none');
    expect(await queued).toMatchObject({ code: 'ABORT_ERR' });
  });
});

describe('write-back, opt-in', () => {
  it('resolves { result, context } with returnContext: true, the context as the handler left it', async () => {
    const back = pool({ filename: fixture('context.mjs') });
    const ctx = new Context();
    ctx.run(() => requestId.set('before'));
    const { result, context } = await ctx.run(() =>
      back.runInContext(
        { set: 'changed-in-worker' },
        { name: 'setAndReport', returnContext: true },
      ),
    );
    expect(result).toBe('before');
    expect(context).toBeInstanceOf(Context);
    expect(context.get(requestId)).toBe('changed-in-worker');
    // The caller's own context is untouched: write-back is a value, not a merge.
    expect(ctx.get(requestId)).toBe('before');
    // Without the option, the result alone.
    expect(await ctx.run(() => back.runInContext({ set: 'x' }, { name: 'setAndReport' }))).toBe(
      'before',
    );
  });
});

describe('messages', () => {
  it('post the array of the task alone: nothing of the pool rides along', async () => {
    const { Dispatcher, leastBusy } = await import('../../dist/workers/dispatch.js');
    const dispatcher = new Dispatcher(leastBusy(1) as never);
    const ctx = new Context();
    ctx.run(() => requestId.set('r-1'));
    const message = dispatcher.message({ a: 1 }, '/x.mjs', 'default', ctx, false, []);
    const { port1, port2 } = new MessageChannel();
    const received = new Promise((resolve) => port2.once('message', resolve));
    port1.postMessage(message);
    expect(await received).toEqual([...message]);
    port1.close();
  });
});
