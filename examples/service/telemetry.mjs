// OpenTelemetry as a service sets it up: HTTP auto-instrumentation (a server
// span for every request served, a client span for every request made), W3C
// propagation, and a span exporter, which here hands each ended span to the
// process that started this one (a real service sends them to its
// collector). Preloaded before the service's own modules, as OpenTelemetry's
// docs advise: `node --import ./telemetry.mjs service-a.mjs` (run.mjs forks
// the services so). Worker threads inherit the flag, so it runs in the
// ContextPool's threads too, each thread with its own tracer provider.
import { createRequire } from 'node:module';
import { isMainThread, parentPort, threadId } from 'node:worker_threads';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { carryOpenTelemetry } from 'contextvars/otel';
import { startTracing } from '../shared/tracing.mjs';

const role = process.env.EXAMPLE_ROLE;
if (isMainThread) {
  startTracing(role, (span) => process.send({ span }));
} else {
  // A pool thread: its spans go to the main thread (the pool's 'message' event).
  startTracing(`${role}, thread ${threadId}`, (span) => parentPort.postMessage({ span }));
}
new HttpInstrumentation();
// The instrumentation patches node:http when it is next required (ES module
// imports of node:http are not hooked without OpenTelemetry's loader).
createRequire(import.meta.url)('node:http');
// The active span travels with pool tasks, the context header and jobs.
carryOpenTelemetry();
