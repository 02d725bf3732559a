// `npm run example:tracing`: a few requests to an HTTP server whose handler
// hashes a password in a ContextPool, traced with OpenTelemetry in the main
// thread and in the pool's threads. Prints each request's trace tree, built
// from the spans each thread exported itself: the worker spans sit under
// their request's span. Exits 1 if any worker span lost its parent.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { bind } from 'contextvars';
import { carryOpenTelemetry } from 'contextvars/otel';
import { ContextPool } from 'contextvars/workers';
import { startTracing, traceTree } from '../shared/tracing.mjs';
import { requestId } from './context.mjs';

const REQUESTS = 3;
const spans = [];
const tracer = startTracing('main thread', (span) => spans.push(span));
carryOpenTelemetry();

const pool = new ContextPool({
  filename: new URL('./worker.mjs', import.meta.url).href,
  maxThreads: 2,
});
// Spans exported by the workers, three per request.
let workerSpans = 0;
const allArrived = new Promise((resolve) => {
  pool.on('message', (message) => {
    if (message?.span === undefined) return;
    spans.push(message.span);
    if (++workerSpans === REQUESTS * 3) resolve();
  });
});

const server = createServer(
  bind((req, res) =>
    tracer.startActiveSpan(`${req.method} ${req.url}`, async (span) => {
      requestId.set(req.headers['x-request-id'] ?? 'unnamed');
      const hash = await pool.runInContext({ password: 'correct horse' });
      span.end();
      res.end(hash);
    }),
  ),
);
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const { port } = server.address();

await Promise.all(
  Array.from({ length: REQUESTS }, (_, i) =>
    fetch(`http://127.0.0.1:${port}/login?user=${i}`, {
      headers: { 'x-request-id': `req-${i}` },
    }).then((response) => response.text()),
  ),
);
await allArrived;
server.close();
await pool.close();

const requestSpans = spans.filter((s) => s.parentSpanId === undefined);
for (const root of requestSpans) {
  console.log(`\ntrace ${root.traceId}`);
  console.log(traceTree(spans, root.traceId));
}
const orphans = spans.filter(
  (s) => s.parentSpanId !== undefined && !spans.some((p) => p.spanId === s.parentSpanId),
);
const nested = spans.filter((s) => s.where.startsWith('worker')).length - orphans.length;
console.log(
  `\n${requestSpans.length} requests, ${nested} worker spans nested under them, ${orphans.length} orphaned`,
);
process.exitCode = orphans.length === 0 && requestSpans.length === REQUESTS ? 0 : 1;
