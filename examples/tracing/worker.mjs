// Runs in the pool's threads, with OpenTelemetry set up here as in any thread:
// each task starts spans, and they come out as children of the request's span
// in the main thread because the task runs in the context it was sent from.
import { pbkdf2Sync } from 'node:crypto';
import { parentPort, threadId } from 'node:worker_threads';
import { carryOpenTelemetry } from 'contextvars/otel';
import { startTracing } from '../shared/tracing.mjs';
import { requestId } from './context.mjs';

// This thread's exporter: each ended span goes to the main thread, which
// prints the trees. A real service would export to its collector.
const tracer = startTracing(`worker thread ${threadId}`, (span) =>
  parentPort.postMessage({ span }),
);
carryOpenTelemetry();

export default function hashPassword({ password }) {
  return tracer.startActiveSpan('hash password', (span) => {
    span.setAttribute('request.id', requestId.get());
    const salt = tracer.startActiveSpan('make salt', (child) => {
      child.end();
      return `salt-${requestId.get()}`;
    });
    const hash = tracer.startActiveSpan('pbkdf2', (child) => {
      const bytes = pbkdf2Sync(password, salt, 60_000, 32, 'sha256');
      child.end();
      return bytes.toString('hex');
    });
    span.end();
    return hash;
  });
}
