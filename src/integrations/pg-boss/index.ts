/**
 * `contextvars/pg-boss`: pg-boss jobs run in the context that created them.
 * The snapshot rides in each job's data under a reserved member, which every
 * method handing jobs to user code takes out again.
 */
export { contextJobs, type PgBossLike } from './instrument.js';
export { contextOf, type JobLike } from './job-context.js';
export type { ContextJobsOptions } from './options.js';
