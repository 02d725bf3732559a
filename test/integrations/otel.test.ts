// carryOpenTelemetry in one thread, through serializeContext and
// deserializeContext; across threads: test/workers/carried.test.ts.
import { context, propagation, type TextMapPropagator, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createTask } from '../../src/index.js';
import { carryOpenTelemetry, OPENTELEMETRY_ENTRY } from '../../src/integrations/otel/index.js';
import { deserializeContext, serializeContext } from '../../src/serialization/index.js';
import { codeOf, thrownBy } from '../support/errors.js';
import { setUpTracing } from '../support/otel.js';

const { exporter, tracer } = setUpTracing();
let stop = carryOpenTelemetry();
afterAll(() => stop());

/** Runs `fn` with the OpenTelemetry entry carried through `extract` instead of the global propagator's. */
function withExtract<R>(extract: TextMapPropagator['extract'], fn: () => R): R {
  stop();
  const undo = carryOpenTelemetry({
    propagator: {
      inject: (ctx, carrier, setter) => propagation.inject(ctx, carrier, setter),
      extract,
      fields: () => [],
    },
  });
  try {
    return fn();
  } finally {
    undo();
    stop = carryOpenTelemetry();
  }
}

/** A json snapshot made inside an active span. */
const sentInSpan = () =>
  tracer.startActiveSpan('sender', (span) => {
    const text = serializeContext(undefined, { format: 'json' });
    span.end();
    return text;
  });

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

  it('a span active where the context is entered stays the parent: what the receiving code carries wins', () => {
    const wire = sentInSpan();
    const [spanId, seen] = tracer.startActiveSpan('receiver', (span) => {
      const inside = deserializeContext(wire).run(
        () => trace.getActiveSpan()?.spanContext().spanId,
      );
      span.end();
      return [span.spanContext().spanId, inside];
    });
    expect(seen).toBe(spanId);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('a broken propagator');
      },
      /propagator threw/,
    ],
    ['returns 42', () => 42 as never, /returned type number \(42\), not an OpenTelemetry Context/],
  ])(
    'a propagator whose extract %s refuses the arrival: ERR_CONTEXT_DESERIALIZE naming the OpenTelemetry entry',
    (_label, extract, message) => {
      const wire = sentInSpan();
      const error = withExtract(extract, () => thrownBy(() => deserializeContext(wire)));
      expect(error).toMatchObject({
        code: 'ERR_CONTEXT_DESERIALIZE',
        varName: OPENTELEMETRY_ENTRY,
      });
      expect((error as Error).message).toContain(OPENTELEMETRY_ENTRY);
      expect((error as Error).message).toMatch(message);
    },
  );

  it('a propagator whose extract returns null restores nothing and warns of nothing', () => {
    const wire = sentInSpan();
    const warn = vi.spyOn(process, 'emitWarning');
    try {
      const seen = withExtract(
        () => null as never,
        () => deserializeContext(wire).run(() => trace.getSpanContext(context.active())),
      );
      expect(seen).toBeUndefined();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses a propagator that is not one, and a second registration', () => {
    expect(codeOf(() => carryOpenTelemetry({ propagator: {} as never }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(codeOf(() => carryOpenTelemetry())).toBe('ERR_INVALID_ARG_VALUE');
  });
});
