// contextTelemetry composed with bullmq-otel (`inner`), with the real
// OpenTelemetry SDK: traces and contexts travel together, and plain
// bullmq-otel on the other side still reads the trace.
import { AsyncLocalStorage } from 'node:async_hooks';
import { context, propagation, type Span, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import type { Queue } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextVar, carry, copyContext } from '../../dist/index.js';
import { contextTelemetry } from '../../dist/integrations/bullmq/index.js';
import { carryOpenTelemetry } from '../../dist/integrations/otel/index.js';
import { deserializeContext } from '../../dist/serialization/index.js';
import { EndedSpans } from '../support/otel.js';
import { hasRedisServer, redisForFile } from '../support/redis.js';
import { finished, inContext, queueKit, replaceMetadata, storedMetadata } from './support.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });

const spans = new EndedSpans();
const tracer = () => trace.getTracer('test');

/** Runs `fn` inside an active span named `name`, with `requestId` set; ends the span after. */
function inRequest<T>(name: string, id: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return inContext([[requestId, id]], () =>
    tracer().startActiveSpan(name, async (span) => {
      try {
        return await fn(span);
      } finally {
        span.end();
      }
    }),
  );
}

/** Adds a job inside a request `id`; resolves with the request's trace id. */
const addInRequest = (queue: Queue, id: string) =>
  inRequest('request', id, async (span) => {
    await queue.add('render', {});
    return span.spanContext().traceId;
  });

/** What a processor reports: the var, and the active span's trace and span ids. */
const observed = () => {
  const span = trace.getActiveSpan()?.spanContext();
  return { requestId: requestId.get(), traceId: span?.traceId, spanId: span?.spanId };
};

describe.runIf(hasRedisServer)('contextTelemetry with bullmq-otel as inner', () => {
  const kit = queueKit(redisForFile());
  const composed = contextTelemetry({ inner: new BullMQOtel() });
  const plain = new BullMQOtel();

  beforeAll(() => {
    const provider = new BasicTracerProvider({
      spanProcessors: [spans],
    });
    trace.setGlobalTracerProvider(provider);
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it("carries both: the job runs in its adder's context, under a process span of the adder's trace", async () => {
    const name = kit.name('composed');
    const queue = kit.queue(name, { telemetry: composed });
    const { traceId, job } = await inRequest('request', 'r-otel', async (span) => ({
      traceId: span.spanContext().traceId,
      job: await queue.add('render', {}),
    }));
    const stored = (await storedMetadata(kit.redis(), name, job.id)).opts ?? '';
    const members = JSON.parse(stored) as Record<string, string>;
    expect(members.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(deserializeContext(members.contextvars ?? '').run(() => requestId.get())).toBe('r-otel');

    const worker = kit.worker(name, async () => observed(), { telemetry: composed });
    const [done] = await finished(worker, 1);
    const add = await spans.named(`add ${name}.render`);
    const process = await spans.named(`process ${name}`);
    expect(add?.spanContext().traceId).toBe(traceId);
    expect(process?.parentSpanContext?.spanId).toBe(add?.spanContext().spanId);
    expect(done?.result).toEqual({
      requestId: 'r-otel',
      traceId,
      spanId: process?.spanContext().spanId,
    });
  });

  it('keeps the trace readable by a plain bullmq-otel worker (rolling deploys)', async () => {
    const name = kit.name('to-plain');
    const queue = kit.queue(name, { telemetry: composed });
    const traceId = await addInRequest(queue, 'r-to-plain');
    const worker = kit.worker(name, async () => observed(), { telemetry: plain });
    const [done] = await finished(worker, 1);
    expect(done?.result).toMatchObject({ traceId });
  });

  it('reads the trace of a plain bullmq-otel producer, in an empty context', async () => {
    const name = kit.name('from-plain');
    const queue = kit.queue(name, { telemetry: plain });
    const traceId = await addInRequest(queue, 'r-from-plain');
    const worker = kit.worker(name, async () => ({ ...observed(), size: copyContext().size }), {
      telemetry: composed,
    });
    const [done] = await finished(worker, 1);
    expect(done?.result).toMatchObject({ traceId, requestId: 'none', size: 0 });
  });

  it('rewrites the metadata on failure with the new trace position and the enqueue-time context', async () => {
    const name = kit.name('otel-retry');
    const queue = kit.queue(name, { telemetry: composed });
    const { traceId, job } = await inRequest('request', 'r-otel-retry', async (span) => ({
      traceId: span.spanContext().traceId,
      job: await queue.add('flaky', {}, { attempts: 2 }),
    }));
    const worker = kit.worker(
      name,
      async (j) => {
        const seen = observed();
        requestId.set('changed');
        if (j.attemptsMade === 0) throw new Error('first attempt fails');
        return seen;
      },
      { telemetry: composed },
    );
    const results = await finished(worker, 2);
    expect(results[1]?.result).toMatchObject({ requestId: 'r-otel-retry', traceId });
    const { field } = await storedMetadata(kit.redis(), name, job.id);
    const members = JSON.parse(field ?? '') as Record<string, string>;
    const retry = await spans.named(`retry ${name}`);
    expect(members.traceparent).toBe(`00-${traceId}-${retry?.spanContext().spanId}-01`);
    expect(deserializeContext(members.contextvars ?? '').run(() => requestId.get())).toBe(
      'r-otel-retry',
    );
  });

  it('never lets metadata that bullmq-otel cannot parse stop the worker', async () => {
    const name = kit.name('otel-garbage');
    const queue = kit.queue(name, { telemetry: composed });
    const job = await inRequest('request', 'r-garbage', () => queue.add('render', {}));
    await replaceMetadata(kit.redis(), name, job.id, 'not json at all');
    const worker = kit.worker(name, async () => observed(), { telemetry: composed });
    const [done] = await finished(worker, 1);
    expect(done?.result).toMatchObject({ requestId: 'none' });
  });

  describe('with carryOpenTelemetry and a carried store registered', () => {
    const tenantStore = new AsyncLocalStorage<{ tenant: string }>();
    const sessionStore = new AsyncLocalStorage<{ user: string; poison?: boolean }>();
    const undo: Array<() => void> = [];
    beforeAll(() => {
      undo.push(
        carryOpenTelemetry(),
        carry(tenantStore, { name: 'bullmq.tenant' }),
        carry(sessionStore, {
          name: 'bullmq.session',
          codec: {
            encode: (value) => value,
            decode: (raw) => {
              if ((raw as { poison?: boolean }).poison) throw new Error('a poisoned session');
              return raw as { user: string };
            },
          },
        }),
      );
    });
    afterAll(() => {
      for (const stop of undo) stop();
    });

    it('bullmq-otel and the carried context agree: the processor runs under the process span', async () => {
      const name = kit.name('carried-composed');
      const queue = kit.queue(name, { telemetry: composed });
      const traceId = await tenantStore.run({ tenant: 'acme' }, () =>
        addInRequest(queue, 'r-carried'),
      );
      const worker = kit.worker(
        name,
        async () => ({ ...observed(), tenant: tenantStore.getStore()?.tenant }),
        { telemetry: composed },
      );
      const [done] = await finished(worker, 1);
      const process = await spans.named(`process ${name}`);
      expect(done?.result).toEqual({
        requestId: 'r-carried',
        traceId,
        spanId: process?.spanContext().spanId,
        tenant: 'acme',
      });
    });

    it('a carried store arrives in the job even where the code around the processor holds a value of that store', async () => {
      const name = kit.name('carried-over-current');
      const queue = kit.queue(name, { telemetry: composed });
      await tenantStore.run({ tenant: 'acme' }, () => addInRequest(queue, 'r-store'));
      // The worker's loop, and so every processor call, starts inside a store value of its own.
      const worker = tenantStore.run({ tenant: 'worker-startup' }, () =>
        kit.worker(name, async () => ({ ...observed(), tenant: tenantStore.getStore()?.tenant }), {
          telemetry: composed,
        }),
      );
      const [done] = await finished(worker, 1);
      const process = await spans.named(`process ${name}`);
      expect(done?.result).toMatchObject({
        requestId: 'r-store',
        spanId: process?.spanContext().spanId,
        tenant: 'acme',
      });
    });

    it.each([
      ['with', () => composed],
      ['without', () => contextTelemetry()],
    ])(
      'a store whose codec refuses what arrived fails the job (%s an inner telemetry): ERR_CONTEXT_DESERIALIZE first in its failed reason',
      async (_label, telemetry) => {
        const name = kit.name('carried-refused');
        const queue = kit.queue(name, { telemetry: telemetry() });
        const job = await sessionStore.run({ user: 'eve', poison: true }, () =>
          queue.add('render', {}),
        );
        let ran = false;
        const worker = kit.worker(
          name,
          async () => {
            ran = true;
          },
          { telemetry: telemetry() },
        );
        const [done] = await finished(worker, 1);
        expect(ran).toBe(false);
        expect(done?.error).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE' });
        expect(done?.error?.message).toMatch(
          /^ERR_CONTEXT_DESERIALIZE: job \S+ of queue 'carried-refused-\S+' was not run.*carried store 'bullmq\.session'/,
        );
        expect((await queue.getJob(job.id ?? ''))?.failedReason).toBe(done?.error?.message);
      },
    );

    it('without an inner telemetry, the processor runs under the span that added the job', async () => {
      const name = kit.name('carried-alone');
      const alone = contextTelemetry();
      const queue = kit.queue(name, { telemetry: alone });
      const { traceId, spanId } = await inRequest('request', 'r-alone', async (span) => {
        await queue.add('render', {});
        return span.spanContext();
      });
      const worker = kit.worker(name, async () => observed(), { telemetry: alone });
      const [done] = await finished(worker, 1);
      expect(done?.result).toEqual({ requestId: 'r-alone', traceId, spanId });
    });
  });
});
