// Service B answers stock queries. Each request's context is seeded from the
// signed header service A sends; B's own HTTP instrumentation opened the
// server span, which stays the parent of B's spans. Started by run.mjs.
import { trace } from '@opentelemetry/api';
import { requestScope } from 'contextvars/http';
import express from 'express';
import { requestId } from './context.mjs';
import { log } from './log.mjs';

// OpenTelemetry and its HTTP instrumentation are set up by telemetry.mjs,
// which run.mjs preloads with --import, as a service would.
const tracer = trace.getTracer('example-service');

const app = express();
app.use(requestScope({ header: 'x-context', key: process.env.CONTEXT_KEY }));
app.get('/stock', (req, res) => {
  tracer.startActiveSpan('check stock', (span) => {
    log.info({ order: Number(req.query.order) }, 'checked the stock');
    span.end();
    res.json({ inStock: true, requestId: requestId.get() });
  });
});

const server = app.listen(0, '127.0.0.1', () =>
  process.send({ ready: `http://127.0.0.1:${server.address().port}` }),
);
process.on('message', (message) => {
  if (message !== 'stop') return;
  server.close();
  process.exit(0);
});
// Never outlive run.mjs, even when it is killed.
process.on('disconnect', () => process.exit(1));
