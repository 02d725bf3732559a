// Type-level tests of contextvars/bullmq against the installed bullmq's own
// types (checked by `npm run typecheck`, which `npm test` runs).
import { FlowProducer, type Job, Queue, type SandboxedJob, type Telemetry, Worker } from 'bullmq';
import { BullMQOtel } from 'bullmq-otel';
import { expectTypeOf } from 'vitest';
import type { Context } from '../../src/index.js';
import {
  contextOf,
  contextTelemetry,
  inJobContext,
  withContext,
} from '../../src/integrations/bullmq/index.js';

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

// Trust options: a narrower use, version-1 snapshots during an upgrade, a required snapshot.
contextTelemetry({ key: 'k', use: 'tenant-a', acceptUnbound: true, requireSnapshot: true });
withContext(render, { key: 'k', use: 'tenant-a', requireSnapshot: true });
// @ts-expect-error use is a string
contextTelemetry({ key: 'k', use: 5 });
// @ts-expect-error requireSnapshot is a boolean
withContext(render, { key: 'k', requireSnapshot: 'yes' });

// contextOf: the Context a job (in-process or sandboxed) runs in.
declare const job: Job;
declare const sandboxedJob: SandboxedJob;
expectTypeOf(contextOf(job)).toEqualTypeOf<Context>();
expectTypeOf(
  contextOf(sandboxedJob, { key: 'k', maxAge: 60_000, use: 'tenant-a' }),
).toEqualTypeOf<Context>();
contextOf(job, { key: 'k', requireSnapshot: true, inner: new BullMQOtel() });
// @ts-expect-error a job, not its id
contextOf('42');
// @ts-expect-error maxAge is in milliseconds
contextOf(job, { key: 'k', maxAge: '1m' });

// inJobContext keeps the listener's type, and worker.on gives its parameters their types.
const worker: Worker = new Worker('reports', async () => 'done', { connection, telemetry });
worker.on(
  'failed',
  inJobContext(
    (failed, error, prev) => {
      expectTypeOf(failed).toEqualTypeOf<Job | undefined>();
      expectTypeOf(error).toEqualTypeOf<Error>();
      expectTypeOf(prev).toEqualTypeOf<string>();
    },
    { key: 'k' },
  ),
);
worker.on(
  'completed',
  inJobContext((done) => {
    expectTypeOf(done).toEqualTypeOf<Job>();
  }),
);
worker.on(
  'progress',
  inJobContext((progressed, progress) => {
    expectTypeOf(progressed).toEqualTypeOf<Job>();
    expectTypeOf(progress).toEqualTypeOf<import('bullmq').JobProgress>();
  }),
);
const onFailed = (failed: Job | undefined, error: Error) => `${failed?.id}: ${error.message}`;
expectTypeOf(inJobContext(onFailed)).toEqualTypeOf<typeof onFailed>();
// @ts-expect-error a listener
inJobContext('listener');
// @ts-expect-error requireSnapshot is a boolean
inJobContext(onFailed, { key: 'k', requireSnapshot: 1 });
