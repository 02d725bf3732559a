// Service A takes orders. Each request runs in its own context (requestScope):
// it prices the order in a ContextPool, checks the stock at service B with the
// signed context header, and enqueues a shipping job. Started by run.mjs.

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { trace } from '@opentelemetry/api';
import { Queue } from 'bullmq';
import { contextTelemetry } from 'contextvars/bullmq';
import { contextHeaders, requestScope } from 'contextvars/http';
import { ContextPool } from 'contextvars/workers';
import express from 'express';
import { requestId } from './context.mjs';
import { log } from './log.mjs';

// OpenTelemetry and its HTTP instrumentation are set up by telemetry.mjs,
// which run.mjs preloads with --import, as a service would.
const tracer = trace.getTracer('example-service');

const key = process.env.CONTEXT_KEY;
const pool = new ContextPool({
  filename: new URL('./pricing.mjs', import.meta.url).href,
  maxThreads: 2,
});
pool.on('message', (message) => message?.span && process.send({ span: message.span }));
const queue = new Queue('shipping', {
  connection: { path: process.env.REDIS_SOCKET },
  telemetry: contextTelemetry({ key }),
});

/** GETs `url` with `headers` through node:http (instrumented: a client span). */
function getJson(url, headers) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(JSON.parse(body)));
      })
      .on('error', reject);
  });
}

async function placeOrder(order, traceId) {
  log.info({ order }, 'order received');
  const total = await pool.runInContext({ order, items: 3 });
  const stock = await getJson(
    `${process.env.B_URL}/stock?order=${order}`,
    contextHeaders({ header: 'x-context', key }),
  );
  const job = await queue.add('ship', { order }, { attempts: 2 });
  log.info({ order, total, job: job.id }, 'order placed');
  return { requestId: requestId.get(), traceId, total, inStock: stock.inStock };
}

const app = express();
app.use(requestScope());
app.use((req, res, next) => {
  requestId.set(req.get('x-request-id') ?? randomUUID());
  // The access log: a response listener, in the request's context.
  res.on('finish', () =>
    log.info({ order: Number(req.query.order), status: res.statusCode }, 'access'),
  );
  next();
});
app.post('/orders', (req, res, next) => {
  tracer.startActiveSpan('place order', (span) =>
    placeOrder(Number(req.query.order), span.spanContext().traceId)
      .then((answer) => res.json(answer), next)
      .finally(() => span.end()),
  );
});

const server = app.listen(0, '127.0.0.1', () =>
  process.send({ ready: `http://127.0.0.1:${server.address().port}` }),
);
process.on('message', async (message) => {
  if (message !== 'stop') return;
  server.close();
  await Promise.all([pool.close(), queue.close()]);
  process.exit(0);
});
// Never outlive run.mjs, even when it is killed.
process.on('disconnect', () => process.exit(1));
