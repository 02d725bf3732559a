// examples/security/jobs.mjs
import { Queue, Worker } from 'bullmq';
import { ContextVar, createTask } from 'contextvars';
import { contextTelemetry, inJobContext } from 'contextvars/bullmq';
import { connection } from './connection.mjs';

const tenant = new ContextVar('tenant', { default: 'none' });
// One use per tenant: a snapshot copied onto another tenant's queue is refused.
// requireSnapshot: a job whose snapshot was stripped (or never added) fails too.
const options = { key: 'the shared key', use: 'tenant-a', requireSnapshot: true };
const telemetry = contextTelemetry(options);

const queue = new Queue('tenant-a-exports', { connection, telemetry });
const worker = new Worker('tenant-a-exports', async () => `exported for ${tenant.get()}`, {
  connection,
  telemetry,
});
// BullMQ emits its events outside the job's context: wrap the listeners.
worker.on(
  'completed',
  inJobContext((job, result) => console.log(`[${tenant.get()}] job ${job.id}: ${result}`), options),
);
worker.on(
  'failed',
  inJobContext(
    (job, error) => console.log(`[${tenant.get()}] job ${job?.id}: ${error.message}`),
    options,
  ),
);

const signed = await createTask(() => {
  tenant.set('acme');
  return queue.add('export', {});
});
const stripped = await new Queue('tenant-a-exports', { connection }).add('export', {}); // no snapshot

// ---- checks (not shown in docs/security.md) ----
const { strict: assert } = await import('node:assert');
const { stopRedis } = await import('./connection.mjs');
const { contextOf } = await import('contextvars/bullmq');
const settled = async (id) => {
  for (;;) {
    const job = await queue.getJob(id);
    if (job.finishedOn !== undefined) return job;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
assert.equal((await settled(signed.id)).returnvalue, 'exported for acme');
assert.match(
  (await settled(stripped.id)).failedReason,
  /^ERR_CONTEXT_DESERIALIZE: .*requireSnapshot/,
);
assert.equal(
  contextOf(await queue.getJob(signed.id), options).run(() => tenant.get()),
  'acme',
);
await worker.close();
await queue.close();
await stopRedis();
console.log('ok: jobs');
process.exit(0);
