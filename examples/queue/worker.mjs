// A worker process: renders report jobs, each in the context of the request
// that enqueued it, and logs a line naming that request. Started by run.mjs,
// which it tells over IPC when it is ready and which tells it when to stop.
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Worker } from 'bullmq';
import { contextTelemetry } from 'contextvars/bullmq';
import { logLine, requestId } from './context.mjs';
import { startTracing } from './tracing.mjs';

const { values } = parseArgs({
  options: { socket: { type: 'string' }, trace: { type: 'boolean', default: false } },
});
const tracing = values.trace
  ? startTracing(`worker ${process.pid}`, (span) => process.send({ span }))
  : undefined;
const telemetry = contextTelemetry({ key: process.env.CONTEXT_KEY, inner: tracing?.inner });

function render(job) {
  // Stand-in work: a few thousand rounds of hashing.
  let digest = job.data.report;
  for (let i = 0; i < 2_000; i++) digest = createHash('sha256').update(digest).digest('hex');
  const line = logLine(
    `rendered the ${job.data.report} report (job ${job.id}, worker ${process.pid})`,
  );
  console.log(line);
  return { requestId: requestId.get(), line, pid: process.pid };
}

const processor = tracing
  ? (job) =>
      tracing.tracer.startActiveSpan('render', (span) => {
        const result = render(job);
        span.end();
        return result;
      })
  : render;

const worker = new Worker('reports', async (job) => processor(job), {
  connection: { path: values.socket },
  telemetry,
  concurrency: 4,
});
worker.once('ready', () => process.send('ready'));
process.on('message', async (message) => {
  if (message !== 'stop') return;
  await worker.close();
  process.send('stopped', () => process.exit(0));
});
