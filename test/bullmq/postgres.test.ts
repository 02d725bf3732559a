// BullMQ on a real PostgreSQL, through BullMQ 6's PostgreSQL backend: the
// suites the Redis tests run, on this backend.
import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { ContextVar } from '../../dist/index.js';
import { reportQueue } from '../../examples/jobs/bullmq-postgres.mjs';
import { inContext } from '../support/in-context.js';
import { hasPostgres, ON_POSTGRESQL, postgresForFile } from '../support/postgres.js';
import { jobsAcrossProcesses } from './suites/processes.js';

// Its own name: the shared suite declares `request_id` in this thread already.
const requestId = new ContextVar<string>('guide_request_id', { default: 'none' });

describe.runIf(hasPostgres)(`jobs across worker processes ${ON_POSTGRESQL}`, () => {
  jobsAcrossProcesses(postgresForFile());
});

describe.runIf(hasPostgres)(`the Queues guide's BullMQ ${ON_POSTGRESQL}`, () => {
  const server = postgresForFile();

  it('runs a job in the context that added it, retried in it too', async () => {
    const { queue, worker } = reportQueue({ connection: server().connection, key: 'guide-key' });
    const seen: string[] = [];
    let done = () => {};
    const ran = new Promise<void>((resolve) => {
      done = resolve;
    });
    const running = worker(async (job: Job) => {
      seen.push(requestId.get());
      requestId.set('changed');
      if (job.attemptsMade === 0) throw new Error('first attempt fails');
      done();
    });
    await inContext([[requestId, 'r-guide']], () => queue.add('render', {}, { attempts: 2 }));
    await ran;
    await running.close();
    await queue.close();
    expect(seen).toEqual(['r-guide', 'r-guide']);
  });
});
