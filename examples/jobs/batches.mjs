// A pg-boss handler given batches: it runs in an empty context, and runs each
// job in that job's own context with contextOf.
import { contextOf } from 'contextvars/pg-boss';

export function workInBatches(boss, queue, { key, send }) {
  return boss.work(queue, { batchSize: 10 }, async (jobs) => {
    for (const job of jobs) await contextOf(job, { key }).run(() => send(job.data));
  });
}
