// The job process: ships orders. Every attempt runs in the context of the
// request that enqueued the job, and so do the Worker's event listeners,
// wrapped with inJobContext: the failed attempt is logged with its request's
// id. Started by run.mjs.
import { trace } from '@opentelemetry/api';
import { Worker } from 'bullmq';
import { contextTelemetry, inJobContext } from 'contextvars/bullmq';
import { requestId } from './context.mjs';
import { log } from './log.mjs';

// OpenTelemetry and its HTTP instrumentation are set up by telemetry.mjs,
// which run.mjs preloads with --import, as a service would.
const tracer = trace.getTracer('example-service');

const key = process.env.CONTEXT_KEY;

function ship(job) {
  return tracer.startActiveSpan('ship', (span) => {
    const { order } = job.data;
    log.info({ order, attempt: job.attemptsMade + 1 }, 'shipping');
    span.end();
    // Every first attempt fails, as a flaky carrier would: BullMQ retries it.
    if (job.attemptsMade === 0) throw new Error('the carrier timed out');
    return { shipped: order };
  });
}

const worker = new Worker('shipping', async (job) => ship(job), {
  connection: { path: process.env.REDIS_SOCKET },
  telemetry: contextTelemetry({ key }),
});
worker.on(
  'failed',
  inJobContext(
    (job, error) => log.warn({ order: job?.data.order, error: error.message }, 'attempt failed'),
    { key },
  ),
);
worker.on(
  'completed',
  inJobContext(
    (job) => {
      log.info({ order: job.data.order }, 'shipped');
      process.send({ completed: requestId.get() });
    },
    { key },
  ),
);
worker.once('ready', () => process.send({ ready: true }));
process.on('message', async (message) => {
  if (message !== 'stop') return;
  await worker.close();
  process.exit(0);
});
// Never outlive run.mjs, even when it is killed.
process.on('disconnect', () => process.exit(1));
