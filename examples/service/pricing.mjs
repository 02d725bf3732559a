// Service A's CPU work, in its ContextPool's threads (OpenTelemetry is set up
// here by the preloaded telemetry.mjs, as in every thread). Each task runs in a
// copy of the request's context: its log line carries the request id, and its
// span is a child of the span that was active where the task was sent.
import { pbkdf2Sync } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { log } from './log.mjs';

const tracer = trace.getTracer('example-service');

export default function price({ order, items }) {
  return tracer.startActiveSpan('price', (span) => {
    const digest = pbkdf2Sync(`order-${order}`, 'salt', 20_000, 16, 'sha256').toString('hex');
    const total = items * 7 + (Number.parseInt(digest.slice(0, 2), 16) % 5);
    log.info({ order, total }, 'priced the order');
    span.end();
    return total;
  });
}
