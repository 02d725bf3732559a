// Type-level tests of contextvars/pg-boss against the installed pg-boss's
// own types (checked by `npm run typecheck`, which `npm test` runs).
import { type Job, type JobWithMetadata, PgBoss } from 'pg-boss';
import { expectTypeOf } from 'vitest';
import type { Context } from '../../src/index.js';
import {
  type ContextJobsOptions,
  contextJobs,
  contextOf,
} from '../../src/integrations/pg-boss/index.js';

// contextJobs returns the instance with its own type: pg-boss's API is unchanged.
const boss = contextJobs(new PgBoss('postgres://localhost/app'), { key: 'k', maxAge: 60_000 });
expectTypeOf(boss).toEqualTypeOf<PgBoss>();
contextJobs(new PgBoss('postgres://localhost/app'));
contextJobs(new PgBoss('postgres://localhost/app'), {
  key: [Buffer.from('next'), 'current'],
  use: 'reports',
  requireSnapshot: true,
});
// @ts-expect-error a pg-boss instance
contextJobs({ send: 1 });
// @ts-expect-error maxAge is in milliseconds
contextJobs(new PgBoss('postgres://localhost/app'), { key: 'k', maxAge: '1m' });
// @ts-expect-error requireSnapshot is a boolean
contextJobs(new PgBoss('postgres://localhost/app'), { key: 'k', requireSnapshot: 1 });

// contextOf takes any job pg-boss hands out and gives a Context.
declare const job: Job<{ page: number }>;
declare const withMetadata: JobWithMetadata<{ page: number }>;
expectTypeOf(contextOf(job)).toEqualTypeOf<Context>();
expectTypeOf(contextOf(withMetadata, { key: 'k' })).toEqualTypeOf<Context>();
await boss.work<{ page: number }>('render', async ([first]) => {
  if (first !== undefined) contextOf(first, { key: 'k' }).run(() => first.data.page);
});
// @ts-expect-error a job is an object
contextOf('job-1');
expectTypeOf<ContextJobsOptions['use']>().toEqualTypeOf<string | undefined>();
