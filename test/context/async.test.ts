import { EventEmitter } from 'node:events';
import { readFile as readFileCallback } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { bind, Context, ContextVar, copyContext, createTask } from '../../src/index.js';
import { codeOf, rejectionOf } from '../support/errors.js';
import { collectGarbage, heapAfterGc } from '../support/gc.js';

const requestId = new ContextVar<string>('async_request_id', { default: 'none' });

function defer<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('propagation inside ctx.run', () => {
  it('reaches awaits, promise reactions, timers, immediates, microtasks and I/O callbacks', async () => {
    const ctx = new Context();
    const seen = await ctx.run(async () => {
      requestId.set('r-1');
      const out: Record<string, string> = {};
      await null;
      out.await = requestId.get();
      out.promiseThen = await Promise.resolve().then(() => requestId.get());
      out.timeout = await new Promise((r) => setTimeout(() => r(requestId.get()), 1));
      out.immediate = await new Promise((r) => setImmediate(() => r(requestId.get())));
      out.microtask = await new Promise((r) => queueMicrotask(() => r(requestId.get())));
      out.nextTick = await new Promise((r) => process.nextTick(() => r(requestId.get())));
      await readFile(new URL(import.meta.url));
      out.fsPromise = requestId.get();
      out.fsCallback = await new Promise((r) =>
        readFileCallback(new URL(import.meta.url), () => r(requestId.get())),
      );
      return out;
    });
    expect(Object.values(seen)).toHaveLength(8);
    for (const [where, value] of Object.entries(seen))
      expect([where, value]).toEqual([where, 'r-1']);
    expect(requestId.get()).toBe('none');
  });

  it('runs EventEmitter listeners in the context current at emit', async () => {
    const emitter = new EventEmitter();
    const heard: string[] = [];
    new Context().run(() => {
      requestId.set('at-on');
      emitter.on('ping', () => heard.push(requestId.get()));
    });
    new Context().run(() => {
      requestId.set('at-emit');
      emitter.emit('ping');
    });
    emitter.emit('ping');
    expect(heard).toEqual(['at-emit', 'none']);
    // bind() pins a listener to the context of its registration instead.
    new Context().run(() => {
      requestId.set('bound');
      emitter.on(
        'pong',
        bind(() => heard.push(requestId.get())),
      );
    });
    emitter.emit('pong');
    expect(heard.at(-1)).toBe('bound');
    await Promise.resolve();
  });

  it('gives timer callbacks the context object they were scheduled in (shared, not copied)', async () => {
    const ctx = new Context();
    const fired = defer();
    ctx.run(() => {
      requestId.set('before');
      setTimeout(() => {
        requestId.set('set-in-timer');
        fired.resolve();
      }, 1);
    });
    await fired.promise;
    expect(ctx.get(requestId)).toBe('set-in-timer');
  });

  it('keeps sets made after an await in the same Context object (one asyncio Task)', async () => {
    const ctx = new Context();
    await ctx.run(async () => {
      await null;
      requestId.set('late');
    });
    expect(ctx.get(requestId)).toBe('late');
  });
});

describe('entered, across awaits', () => {
  it('refuses ctx.run in a continuation running in ctx, allows it elsewhere while awaits are pending', async () => {
    const ctx = new Context();
    const gate = defer();
    const task = ctx.run(async () => {
      await gate.promise;
      return codeOf(() => ctx.run(() => 1));
    });
    // fn is suspended: ctx is not entered here, so running it is allowed.
    expect(ctx.run(() => 'while pending')).toBe('while pending');
    gate.resolve();
    expect(await task).toBe('ERR_CONTEXT_ENTERED');
  });

  it('refuses "continuation in ctx -> other.run -> ctx.run"', async () => {
    const ctx = new Context();
    const other = new Context();
    const code = await ctx.run(async () => {
      await null;
      return other.run(() => codeOf(() => ctx.run(() => 1)));
    });
    expect(code).toBe('ERR_CONTEXT_ENTERED');
    // The continuation's nested run restored everything: ctx is enterable here.
    expect(ctx.run(() => 'ok')).toBe('ok');
  });

  it('never counts the caller as entered from createTask or bind flows', async () => {
    const ctx = new Context();
    const results = await ctx.run(async () => {
      await null;
      const fromTask = createTask(async () => {
        await null;
        return copyContext().run(() => 'fresh copy enterable');
      });
      const fromBind = bind(() => copyContext().run(() => 'bound copy enterable'))();
      return [await fromTask, fromBind];
    });
    expect(results).toEqual(['fresh copy enterable', 'bound copy enterable']);
  });
});

describe('createTask', () => {
  it('runs the synchronous part before returning (eager start)', async () => {
    const order: string[] = [];
    const task = createTask(async () => {
      order.push('task sync part');
      await null;
      order.push('task after await');
    });
    order.push('caller after createTask');
    await task;
    expect(order).toEqual(['task sync part', 'caller after createTask', 'task after await']);
  });

  it('isolates the task from the caller, both ways', async () => {
    await new Context().run(async () => {
      requestId.set('caller');
      const started = defer();
      const callerChanged = defer();
      const task = createTask(async () => {
        expect(requestId.get()).toBe('caller');
        requestId.set('task');
        started.resolve();
        await callerChanged.promise;
        return requestId.get();
      });
      await started.promise;
      expect(requestId.get()).toBe('caller');
      requestId.set('caller-later');
      callerChanged.resolve();
      expect(await task).toBe('task');
      expect(requestId.get()).toBe('caller-later');
    });
  });

  it('turns a synchronous throw into a rejection and passes arguments', async () => {
    const error = new Error('sync throw');
    const task = createTask(() => {
      throw error;
    });
    expect(await rejectionOf(task)).toBe(error);
    expect(await createTask((a: number, b: string) => `${a}${b}`, 1, 'x')).toBe('1x');
  });

  it('runs a returned thenable’s then inside the task context', async () => {
    const seen = await createTask(() => {
      requestId.set('thenable');
      const thenable = {
        // biome-ignore lint/suspicious/noThenProperty: a thenable is what this test is about
        then(resolve: (value: string) => void) {
          resolve(requestId.get());
        },
      };
      return thenable as unknown as PromiseLike<string>;
    });
    expect(seen).toBe('thenable');
  });

  it('throws TypeError with ERR_INVALID_ARG_TYPE at once for a non-function', () => {
    const call = () => createTask(42 as unknown as () => void);
    expect(call).toThrow(TypeError);
    expect(codeOf(call)).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('keeps 200 concurrent tasks apart across awaits and timers', async () => {
    const values = Array.from({ length: 200 }, (_, i) => `task-${i}`);
    const seen = await Promise.all(
      values.map((value, i) =>
        createTask(async () => {
          requestId.set(value);
          await sleep(i % 7);
          const afterTimer = requestId.get();
          await immediate();
          return [afterTimer, requestId.get()];
        }),
      ),
    );
    expect(seen).toEqual(values.map((value) => [value, value]));
    expect(requestId.get()).toBe('none');
  });

  it('without createTask, Promise.all of plain async calls shares one context', async () => {
    await new Context().run(async () => {
      const plain = async (value: string) => {
        requestId.set(value);
        await null;
        return requestId.get();
      };
      // Both calls set the same Context object: the last set wins for both.
      expect(await Promise.all([plain('a'), plain('b')])).toEqual(['b', 'b']);
      expect(requestId.get()).toBe('b');
    });
  });
});

describe('bind', () => {
  it('runs each call in a fresh copy of the context captured at bind time', () => {
    new Context().run(() => {
      requestId.set('captured');
      const bound = bind((suffix: string) => {
        const before = requestId.get();
        requestId.set(`changed-${suffix}`);
        return before;
      });
      requestId.set('after-bind');
      expect(bound('1')).toBe('captured');
      expect(bound('2')).toBe('captured');
      expect(requestId.get()).toBe('after-bind');
    });
  });

  it('preserves this and arguments', () => {
    const target = {
      base: 10,
      add: bind(function (this: { base: number }, n: number) {
        return this.base + n;
      }),
    };
    expect(target.add(5)).toBe(15);
  });

  it('throws TypeError with ERR_INVALID_ARG_TYPE for a non-function', () => {
    expect(codeOf(() => bind(null as unknown as () => void))).toBe('ERR_INVALID_ARG_TYPE');
  });

  it('keeps memory flat over 100,000 self-rescheduling calls and retains no old context', async () => {
    const total = 100_000;
    const done = defer<number>();
    let count = 0;
    const marker = new ContextVar<object>('async_marker');
    let firstCallValue: WeakRef<object> | undefined;
    let heapAtTenPercent = 0;
    const tick = bind(() => {
      count++;
      requestId.set(`tick-${count}`);
      // A fresh object per call; only the first is watched. (Each var's lookup
      // cache keeps the map of its latest use alive, one per var, never a chain.)
      const value = {};
      marker.set(value);
      if (count === 1) firstCallValue = new WeakRef(value);
      if (count === total / 10) heapAtTenPercent = heapAfterGc();
      if (count < total) setImmediate(tick);
      else done.resolve(heapAfterGc());
    });
    tick();
    const heapAtEnd = await done.promise;
    // Each call's copy is garbage once it returns: nothing chains them together.
    collectGarbage();
    expect(firstCallValue?.deref()).toBeUndefined();
    expect(heapAtEnd - heapAtTenPercent).toBeLessThan(2 * 1024 * 1024);
  });
});

it('servers: bind(handler) gives each request its own copy of the startup context', async () => {
  const server = new EventEmitter();
  const seen: string[] = [];
  const finished = defer();
  new Context().run(() => {
    requestId.set('startup');
    server.on(
      'request',
      bind(async (id: string) => {
        seen.push(requestId.get());
        requestId.set(id);
        await sleep(1);
        seen.push(requestId.get());
        if (seen.length === 4) finished.resolve();
      }),
    );
  });
  server.emit('request', 'a');
  server.emit('request', 'b');
  await finished.promise;
  expect(seen.slice(0, 2)).toEqual(['startup', 'startup']);
  expect(seen.slice(2).sort()).toEqual(['a', 'b']);
});
