// pg-boss's own OpenTelemetry spans beside contextJobs (on PGlite): what the
// code around the handler already carries wins. With pg-boss's process span
// continuing the sender's trace, the handler's spans are its children; with
// pg-boss's telemetry off, the trace contextvars carried links them.
import { context, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextVar } from '../../dist/index.js';
import { carryOpenTelemetry } from '../../dist/integrations/otel/index.js';
import { setUpTracing } from '../support/otel.js';
import { bossKit, engines, inContext, POLL } from './support.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const [pglite] = engines;

describe('contextJobs beside pg-boss OpenTelemetry', () => {
  const { exporter, tracer } = setUpTracing();
  const kit = bossKit(pglite as (typeof engines)[number]);
  let stop = () => {};
  beforeAll(() => {
    stop = carryOpenTelemetry();
  });
  afterAll(() => {
    stop();
    context.disable();
  });

  /** Sends a job inside an active 'request' span; resolves with the spans once it ran. */
  async function traced(openTelemetry: object) {
    exporter.reset();
    const boss = await kit.boss({ key: 'k' }, { openTelemetry } as never);
    const q = await kit.queue(boss, 'traced');
    let ran = (_: string) => {};
    const seen = new Promise<string>((resolve) => {
      ran = resolve;
    });
    await boss.work(q, POLL, async () => {
      tracer.startSpan('handler').end();
      ran(requestId.get());
    });
    await inContext([[requestId, 'r-traced']], () =>
      tracer.startActiveSpan('request', async (span) => {
        await boss.send(q, {});
        span.end();
      }),
    );
    expect(await seen).toBe('r-traced');
    await boss.offWork(q);
    const spans = exporter.getFinishedSpans();
    const named = (name: string) => spans.find((span) => span.name.startsWith(name));
    return { request: named('request'), process: named('process '), handler: named('handler') };
  }

  it("keeps pg-boss's process span as the handler's parent, in the sender's trace", async () => {
    const { request, process, handler } = await traced({ propagateContext: true });
    const traceId = request?.spanContext().traceId;
    expect(process?.spanContext().traceId).toBe(traceId);
    expect(handler?.spanContext().traceId).toBe(traceId);
    expect(handler?.parentSpanContext?.spanId).toBe(process?.spanContext().spanId);
  });

  it("links the trace itself when pg-boss's telemetry is off", async () => {
    const { request, process, handler } = await traced({ enabled: false });
    expect(process).toBeUndefined();
    expect(handler?.spanContext().traceId).toBe(request?.spanContext().traceId);
    expect(handler?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
