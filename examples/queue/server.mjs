// An HTTP server that puts each request's id, user and tenant in context and
// enqueues a report job: the job carries the request's context to whichever
// worker process renders it.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Queue } from 'bullmq';
import { bind } from 'contextvars';
import { contextTelemetry } from 'contextvars/bullmq';
import { requestId, tenant, user } from './context.mjs';

export function startServer({ connection, key, tracing }) {
  const telemetry = contextTelemetry({ key, inner: tracing?.inner });
  const queue = new Queue('reports', { connection, telemetry });

  async function enqueue(request, response) {
    // Each request runs in its own copy of the startup context (bind), so these
    // sets are the request's alone, and so is the snapshot `add` takes.
    requestId.set(request.headers['x-request-id'] ?? randomUUID());
    user.set(request.headers['x-user'] ?? 'anonymous');
    tenant.set(request.headers['x-tenant'] ?? 'public');
    const report = new URL(request.url, 'http://localhost').searchParams.get('report') ?? 'sales';
    const job = await queue.add('render', { report });
    response.writeHead(202, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ requestId: requestId.get(), jobId: job.id }));
  }

  const handle = tracing
    ? (request, response) =>
        tracing.tracer.startActiveSpan(`${request.method} /reports`, async (span) => {
          await enqueue(request, response);
          span.end();
        })
    : enqueue;
  const server = createServer(bind(handle));
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: async () => {
          await new Promise((done) => server.close(done));
          await queue.close();
        },
      });
    });
  });
}
