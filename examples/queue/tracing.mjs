// Tracing for `--trace`: the OpenTelemetry SDK in this process (as every
// example sets it up) and BullMQ's spans through bullmq-otel, composed with
// contextTelemetry as `inner`.
import { BullMQOtel } from 'bullmq-otel';
import { startTracing as startSdk } from '../shared/tracing.mjs';

export { traceTree } from '../shared/tracing.mjs';

export function startTracing(label, onSpan) {
  return { tracer: startSdk(label, onSpan), inner: new BullMQOtel() };
}
