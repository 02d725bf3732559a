import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  CompositePropagator,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** Every span ended so far, and promises for the spans still to end. */
export class EndedSpans implements SpanProcessor {
  readonly ended: ReadableSpan[] = [];
  private waiters: Array<() => void> = [];
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.ended.push(span);
    for (const wake of this.waiters.splice(0)) wake();
  }
  /** The first span named `name` to end. */
  async named(name: string): Promise<ReadableSpan> {
    for (;;) {
      const found = this.ended.find((span) => span.name === name);
      if (found !== undefined) return found;
      await this.next();
    }
  }
  /** Every span ended so far, once at least `count` have. */
  async atLeast(count: number): Promise<ReadableSpan[]> {
    while (this.ended.length < count) await this.next();
    return this.ended;
  }
  private next(): Promise<void> {
    return new Promise((wake) => this.waiters.push(wake));
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * OpenTelemetry set up in this thread as a service would (context manager,
 * W3C propagators, a tracer provider), exporting to memory for the test.
 */
export function setUpTracing() {
  const exporter = new InMemorySpanExporter();
  const ended = new EndedSpans();
  const provider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter), ended],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(
    new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
    }),
  );
  trace.setGlobalTracerProvider(provider);
  return { exporter, ended, provider, tracer: trace.getTracer('contextvars-tests') };
}
