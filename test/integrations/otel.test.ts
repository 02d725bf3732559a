// carryOpenTelemetry in one thread, through serializeContext and
// deserializeContext; across threads: test/workers/carried.test.ts.
import { context, propagation, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { createTask } from '../../src/index.js';
import { carryOpenTelemetry, OPENTELEMETRY_ENTRY } from '../../src/integrations/otel/index.js';
import { deserializeContext, serializeContext } from '../../src/serialization/index.js';
import { codeOf } from '../support/errors.js';
import { setUpTracing } from '../support/otel.js';

const { exporter, tracer } = setUpTracing();
const stop = carryOpenTelemetry();
afterAll(stop);

describe('carryOpenTelemetry', () => {
  it("a span started in the arrived context is a child of the sender's active span", () => {
    const wire = tracer.startActiveSpan('request', (span) => {
      const text = serializeContext(undefined, { format: 'json' });
      span.end();
      return text;
    });
    deserializeContext(wire).run(() => tracer.startSpan('work').end());
    const [request, work] = ['request', 'work'].map((name) =>
      exporter.getFinishedSpans().find((span) => span.name === name),
    );
    expect(work?.spanContext().traceId).toBe(request?.spanContext().traceId);
    expect(work?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
  });

  it('baggage travels, with or without a span', () => {
    const baggage = propagation.createBaggage({ tenant: { value: 'acme' } });
    const wire = context.with(propagation.setBaggage(context.active(), baggage), () =>
      serializeContext(),
    );
    const seen = deserializeContext(structuredClone(wire)).run(
      () => propagation.getBaggage(context.active())?.getEntry('tenant')?.value,
    );
    expect(seen).toBe('acme');
  });

  it('with nothing active, nothing travels', () => {
    expect(JSON.stringify(serializeContext())).not.toContain(OPENTELEMETRY_ENTRY);
  });

  it('hundreds of concurrent snapshots each restore their own trace', async () => {
    const pairs = await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        createTask(() =>
          tracer.startActiveSpan(`r${i}`, async (span) => {
            await new Promise((resolve) => setImmediate(resolve));
            const wire = serializeContext(undefined, { format: 'json' });
            span.end();
            const seen = await deserializeContext(wire).run(async () => {
              await Promise.resolve();
              return trace.getSpanContext(context.active())?.spanId;
            });
            return [span.spanContext().spanId, seen];
          }),
        ),
      ),
    );
    for (const [sent, seen] of pairs) expect(seen).toBe(sent);
  });

  it('arrived headers that are not strings restore nothing', () => {
    const wire = { v: 1, f: 's', e: [OPENTELEMETRY_ENTRY, 0, { traceparent: 42 }] };
    expect(deserializeContext(wire).run(() => trace.getSpanContext(context.active()))).toBe(
      undefined,
    );
  });

  it('refuses a propagator that is not one, and a second registration', () => {
    expect(codeOf(() => carryOpenTelemetry({ propagator: {} as never }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(codeOf(() => carryOpenTelemetry())).toBe('ERR_INVALID_ARG_VALUE');
  });
});
