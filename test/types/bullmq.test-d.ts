// Type-level tests of contextvars/bullmq against the installed bullmq's own
// types (checked by `npm run typecheck`, which `npm test` runs).
import { FlowProducer, type Job, Queue, type SandboxedJob, type Telemetry, Worker } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { expectTypeOf } from 'vitest';
import { contextTelemetry, withContext } from '../../src/integrations/bullmq/index.js';

const connection = { path: '/tmp/redis.sock' };
const telemetry = contextTelemetry({ key: 'k', maxAge: 60_000 });
expectTypeOf(telemetry).toExtend<Telemetry>();
new Queue('reports', { connection, telemetry });
new FlowProducer({ connection, telemetry });
new Worker('reports', async (job) => job.data, { connection, telemetry });
contextTelemetry();
contextTelemetry({ inner: new BullMQOtel() });
contextTelemetry({ key: [Buffer.from('next'), 'current'] });
// @ts-expect-error inner is a BullMQ telemetry
contextTelemetry({ inner: { tracer: {} } });
// @ts-expect-error maxAge is in milliseconds
contextTelemetry({ key: 'k', maxAge: '1m' });

// withContext returns the processor's own type, for a Worker and a sandboxed file.
type Render = (job: Job<{ n: number }>, token?: string, signal?: AbortSignal) => Promise<number>;
const render: Render = async (job) => job.data.n;
expectTypeOf(withContext(render, { key: 'k' })).toEqualTypeOf<Render>();
new Worker<{ n: number }, number>('reports', withContext(render), { connection });
new Worker(
  'reports',
  withContext(async (job, token, signal) => {
    expectTypeOf(job).toEqualTypeOf<Job>();
    expectTypeOf(token).toEqualTypeOf<string | undefined>();
    expectTypeOf(signal).toEqualTypeOf<AbortSignal | undefined>();
  }),
  { connection },
);
expectTypeOf(withContext(async (job: SandboxedJob) => job.data))
  .parameter(0)
  .toEqualTypeOf<SandboxedJob>();
// @ts-expect-error the first parameter is a job
withContext(async (job: number) => job);
// @ts-expect-error a processor
withContext('processor.js');
// @ts-expect-error maxAge needs a number
withContext(render, { maxAge: '1m' });
