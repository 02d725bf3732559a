// Carried stores and OpenTelemetry through a real ContextPool: each task
// runs inside the stores and the trace of the code that sent it.
import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import { BroadcastChannel, Worker } from 'node:worker_threads';
import { context, propagation, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { ContextSerializationError, ContextVar, carry, createTask } from '../../dist/index.js';
import { carryOpenTelemetry, OPENTELEMETRY_ENTRY } from '../../dist/integrations/otel/index.js';
import { wrap } from '../../dist/workers/comlink.js';
import { startTracing } from '../../examples/shared/tracing.mjs';
import { rejectionOf } from '../support/errors.js';
import { heapAfterGc } from '../support/gc.js';
import { fixture, poolsFor } from './support.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const store = new AsyncLocalStorage<Record<string, unknown>>();
const carryStore = () =>
  carry(store, {
    name: 'pool.request',
    codec: { encode: (v) => v, decode: (v) => v as Record<string, unknown> },
  });
const stops = [carryStore(), carryOpenTelemetry()];
afterAll(() => {
  for (const stop of stops) stop();
});
const tracer = startTracing('main', () => undefined);
const pool = poolsFor({ filename: fixture('carried.mjs'), maxThreads: 2 });

interface Seen {
  requestId: string;
  store: Record<string, unknown> | null;
  traceId: string | null;
  spanId: string | null;
}

describe('through runInContext', () => {
  it('each of 300 concurrent tasks runs in its own store, var and trace, never mixed', async () => {
    const workers = pool();
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        createTask(() => {
          requestId.set(`r-${i}`);
          // Every third task carries no store: deltas with and without carried entries mix.
          const send = () =>
            tracer.startActiveSpan(`request ${i}`, async (span) => {
              const got = (await workers.runInContext(null, { name: 'seen' })) as Seen;
              span.end();
              return {
                got,
                spanId: span.spanContext().spanId,
                traceId: span.spanContext().traceId,
              };
            });
          return i % 3 === 0 ? send() : store.run({ user: `u-${i}` }, send);
        }),
      ),
    );
    results.forEach(({ got, spanId, traceId }, i) => {
      expect(got.requestId).toBe(`r-${i}`);
      expect(got.store).toEqual(i % 3 === 0 ? null : { user: `u-${i}`, decodedIn: 'worker' });
      expect(got.traceId).toBe(traceId);
      expect(got.spanId).toBe(spanId);
    });
  });

  it("a span a task starts is exported by the worker as a child of the caller's span", async () => {
    const workers = pool();
    const exported = new Promise<{ parentSpanId: string; traceId: string }>((resolve) =>
      workers.on('message', (message: { span?: { parentSpanId: string; traceId: string } }) => {
        if (message.span !== undefined) resolve(message.span);
      }),
    );
    const caller = await tracer.startActiveSpan('caller', async (span) => {
      await workers.runInContext(null, { name: 'traced' });
      span.end();
      return span.spanContext();
    });
    expect(await exported).toMatchObject({ parentSpanId: caller.spanId, traceId: caller.traceId });
  });

  it('a store whose codec refuses what arrived rejects that task alone, and the worker goes on', async () => {
    const workers = pool({ maxThreads: 1 });
    const error = await store.run({ poison: true }, () =>
      rejectionOf(workers.runInContext(null, { name: 'seen' })),
    );
    expect(error).toBeInstanceOf(ContextSerializationError);
    expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_DESERIALIZE');
    expect((error as Error).message).toContain('pool.request');
    const after = (await store.run({ user: 'next' }, () =>
      workers.runInContext(null, { name: 'seen' }),
    )) as Seen;
    expect(after.store).toEqual({ user: 'next', decodedIn: 'worker' });
  });
});

describe("the receiver's contract, at arrival", () => {
  it('a store registered with a codec in the worker refuses a value sent without the encoded mark, naming it', async () => {
    const workers = pool({ maxThreads: 1 });
    // This side carries the store without a codec: its value travels unmarked.
    (stops[0] as () => void)();
    const plain = carry(store, { name: 'pool.request' });
    let error: unknown;
    try {
      error = await store.run({ user: 'raw' }, () =>
        rejectionOf(workers.runInContext(null, { name: 'seen' })),
      );
    } finally {
      plain();
      stops[0] = carryStore();
    }
    expect(error).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE', varName: 'pool.request' });
    expect((error as Error).message).toMatch(/'pool\.request' has a codec here/);
  });

  /** Runs `send` with baggage `mode=<mode>`, which the refusing-otel fixtures act on. */
  const inMode = <R>(mode: string, send: () => Promise<R>) =>
    tracer.startActiveSpan('caller', (span) => {
      const baggage = propagation.createBaggage({ mode: { value: mode } });
      return context.with(propagation.setBaggage(context.active(), baggage), async () => {
        try {
          return await send();
        } finally {
          span.end();
        }
      });
    });
  const refusingPool = poolsFor({ filename: fixture('refusing-otel.mjs'), maxThreads: 1 });

  it.each([
    ['throws', 'throw'],
    ['returns 42', 'number'],
  ])(
    "a worker whose propagator's extract %s rejects the task with ERR_CONTEXT_DESERIALIZE naming the OpenTelemetry entry",
    async (_label, mode) => {
      const workers = refusingPool();
      const error = await inMode(mode, () =>
        rejectionOf(workers.runInContext(null, { name: 'ran' })),
      );
      expect(error).toBeInstanceOf(ContextSerializationError);
      expect(error).toMatchObject({
        code: 'ERR_CONTEXT_DESERIALIZE',
        varName: OPENTELEMETRY_ENTRY,
      });
      // The worker goes on: extracting nothing (null) restores nothing.
      expect(await inMode('null', () => workers.runInContext(null, { name: 'ran' }))).toBe('ran');
    },
  );

  it.each([
    ['throws', 'throw'],
    ['returns 42', 'number'],
  ])(
    "a comlink peer whose propagator's extract %s rejects the call with ERR_CONTEXT_DESERIALIZE naming the OpenTelemetry entry",
    async (_label, mode) => {
      const worker = new Worker(new URL(fixture('refusing-otel-comlink.mjs')));
      try {
        const api = wrap<{ ran(): string }>(worker);
        const error = await inMode(mode, () => rejectionOf(api.ran()));
        expect(error).toMatchObject({
          code: 'ERR_CONTEXT_DESERIALIZE',
          varName: OPENTELEMETRY_ENTRY,
        });
        expect(await inMode('null', () => api.ran())).toBe('ran');
      } finally {
        await worker.terminate();
      }
    },
  );
});

it('pool.run carries neither stores nor the trace (a new thread starts empty)', async () => {
  const got = (await tracer.startActiveSpan('caller', (span) =>
    store.run({ user: 'u' }, async () => {
      const result = await pool().run(null, { name: 'seen' });
      span.end();
      return result;
    }),
  )) as Seen;
  expect(got).toEqual({ requestId: 'none', store: null, traceId: null, spanId: null });
  expect(trace.getSpanContext(context.active())).toBeUndefined();
});

describe('spans a worker holds in a batch are flushed before it stops', () => {
  /** The names of spans the fixture's workers export, as they arrive. */
  function exportedSpans() {
    const channel = new BroadcastChannel('contextvars-test-spans');
    const names: string[] = [];
    const waiters: Array<() => void> = [];
    channel.onmessage = (event) => {
      names.push((event as { data: string }).data);
      for (const wake of waiters.splice(0)) wake();
    };
    const arrived = async (name: string) => {
      while (!names.includes(name)) await new Promise<void>((wake) => waiters.push(wake));
    };
    return { arrived, close: () => channel.close() };
  }
  const spansPool = poolsFor({ filename: fixture('batched-spans.mjs') });

  it.each(['destroy', 'close'] as const)('by %s', async (ending) => {
    const spans = exportedSpans();
    const workers = spansPool({ maxThreads: 1 });
    await tracer.startActiveSpan('caller', async (span) => {
      await workers.runInContext(`before ${ending}`);
      span.end();
    });
    await (ending === 'destroy' ? workers.destroy() : workers.close());
    await spans.arrived(`before ${ending}`);
    spans.close();
  });

  // Bookkeeping between a pool and its workers uses channels private to them
  // (issue 14, defect 8): it once ran on a process-wide BroadcastChannel,
  // where any thread could make a pool keep memory or stop waiting.
  it('no other thread can make a pool keep memory through its flush bookkeeping', async () => {
    const workers = spansPool({ maxThreads: 1 });
    await tracer.startActiveSpan('caller', async (span) => {
      await workers.runInContext('before the flood');
      span.end();
    });
    const heard = new BroadcastChannel('contextvars.flush');
    const flooded = new Promise<void>((resolve) => {
      heard.onmessage = (event) => {
        if ((event as { data: { end?: boolean } }).data.end === true) resolve();
      };
    });
    const before = heapAfterGc();
    await workers.run(
      { channel: 'contextvars.flush', count: 300_000 },
      { filename: fixture('flood.mjs') },
    );
    await flooded;
    heard.close();
    // Before: the pool kept every id it heard (about 20 bytes each).
    expect(heapAfterGc() - before).toBeLessThan(2 * 1024 * 1024);
    await workers.close();
  });

  it("no other thread can end a pool's wait for its workers' flush", async () => {
    const spans = exportedSpans();
    const workers = spansPool({ maxThreads: 1, workerData: { exportDelayMs: 300 } });
    const ended = once(workers, 'message');
    await tracer.startActiveSpan('caller', async (span) => {
      await workers.runInContext('ended after its task', { name: 'endLater' });
      span.end();
    });
    await ended;
    // A thread answering every flush request there is, for every thread id.
    const forger = new BroadcastChannel('contextvars.flush');
    forger.onmessage = (event) => {
      const { request } = (event as { data: { request?: unknown } }).data;
      if (request === undefined) return;
      for (let thread = 0; thread < 1000; thread++) forger.postMessage({ done: request, thread });
    };
    try {
      await workers.close();
    } finally {
      forger.close();
    }
    // Exported only because close() waited for this worker's own answer
    // (before, the worker was ended mid-export and this waited forever).
    await spans.arrived('ended after its task');
    spans.close();
  }, 10_000);

  it('when an idle worker times out', async () => {
    const spans = exportedSpans();
    const workers = spansPool({ maxThreads: 1, minThreads: 0, idleTimeout: 50 });
    const gone = new Promise((resolve) => workers.once('workerDestroy', resolve));
    await tracer.startActiveSpan('caller', async (span) => {
      await workers.runInContext('before idling out');
      span.end();
    });
    await gone;
    await spans.arrived('before idling out');
    spans.close();
  });
});
