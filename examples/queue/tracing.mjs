// Tracing for `--trace`: the OpenTelemetry SDK in this process, BullMQ's spans
// through bullmq-otel (composed with contextTelemetry as `inner`), and every
// ended span handed to `onSpan` as a plain object.
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { BullMQOtel } from 'bullmq-otel';

export function startTracing(label, onSpan) {
  const toPlain = (span) => ({
    name: span.name,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    where: label,
  });
  const processor = {
    onStart() {},
    onEnd: (span) => onSpan(toPlain(span)),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [processor] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return { tracer: trace.getTracer('queue-example'), inner: new BullMQOtel() };
}

/** The spans of one trace as an indented tree, children in start order. */
export function traceTree(spans, traceId) {
  const mine = spans.filter((s) => s.traceId === traceId);
  const lines = [];
  const walk = (parentSpanId, depth) => {
    for (const span of mine.filter((s) => s.parentSpanId === parentSpanId)) {
      lines.push(`${'   '.repeat(depth)}${depth > 0 ? '└─ ' : ''}${span.name}  (${span.where})`);
      walk(span.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}
