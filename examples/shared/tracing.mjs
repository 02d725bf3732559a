// OpenTelemetry set up in one thread as a service would (a context manager,
// W3C trace-context and baggage propagators, a tracer provider), with every
// ended span handed to `onSpan` as a plain object, and the trees they make.
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

/** Sets OpenTelemetry up in this thread; `where` labels its spans. */
export function startTracing(where, onSpan) {
  // HTTP instrumentation names its spans by method only: say which side.
  const nameOf = (span) =>
    span.kind === SpanKind.SERVER || span.kind === SpanKind.CLIENT
      ? `${span.name} (${SpanKind[span.kind].toLowerCase()})`
      : span.name;
  const toPlain = (span) => ({
    name: nameOf(span),
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    ms: span.duration[0] * 1e3 + span.duration[1] / 1e6,
    where,
  });
  const processor = {
    onStart() {},
    onEnd: (span) => onSpan(toPlain(span)),
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [processor] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  return trace.getTracer('contextvars-example');
}

/** The spans of one trace as an indented tree, children in the order they ended. */
export function traceTree(spans, traceId) {
  const mine = spans.filter((s) => s.traceId === traceId);
  const lines = [];
  const walk = (parentSpanId, depth) => {
    for (const span of mine.filter((s) => s.parentSpanId === parentSpanId)) {
      const label = `${'   '.repeat(depth)}${depth > 0 ? '└─ ' : ''}${span.name}`;
      const ms = span.ms === undefined ? '' : `${span.ms.toFixed(1).padStart(7)} ms`;
      lines.push(`${label.padEnd(40)} ${ms}  ${span.where}`);
      walk(span.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join('\n');
}
