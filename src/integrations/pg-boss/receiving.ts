/**
 * The methods that hand jobs to user code: each job's data is given back as
 * it was sent (the snapshot member taken out), and `work` runs handlers in
 * the jobs' contexts.
 */
import { Context } from '../../context/index.js';
import { readJobContext } from './job-context.js';
import { takeMember } from './member.js';
import type { CheckedJobsOptions } from './options.js';

interface HandedJob {
  id: string;
  name?: string;
  data?: unknown;
  retryCount: number;
}

type Handler = (this: unknown, jobs: HandedJob[], ...rest: unknown[]) => unknown;

/** pg-boss's `fail`, as the handler wrapper calls it for refused jobs of a batch. */
export type FailJobs = (
  name: string,
  jobs: Array<{ id: string; retryCount: number }>,
  output: Error,
  options?: { db?: unknown },
) => Promise<unknown>;

/** Takes the member out of each job of a list (as fetch and findJobs return them). */
export function takeMembers<J extends { data?: unknown }>(jobs: unknown): unknown {
  if (Array.isArray(jobs)) for (const job of jobs as J[]) takeMember(job);
  return jobs;
}

/** Takes the member out of one job, or leaves null as it is. */
export function takeOne(job: unknown): unknown {
  return typeof job === 'object' && job !== null ? takeMember(job as { data?: unknown }) : job;
}

/**
 * A larger batch: jobs whose snapshot is refused are failed alone (through
 * the handler's transaction, when it has one) and left out; the handler runs
 * in an empty context (each job's own: `contextOf(job)`), and not at all if
 * no job is left.
 */
async function runBatch(
  name: string,
  jobs: HandedJob[],
  call: (kept: HandedJob[]) => unknown,
  checked: CheckedJobsOptions,
  fail: FailJobs,
  db: unknown,
): Promise<unknown> {
  const kept: HandedJob[] = [];
  for (const job of jobs) {
    try {
      readJobContext(job, checked);
      kept.push(job);
    } catch (error) {
      const attempt = { id: job.id, retryCount: job.retryCount };
      await fail(name, [attempt], error as Error, db === undefined ? undefined : { db });
    }
  }
  if (kept.length === 0) return undefined;
  return new Context().run(() => call(kept));
}

/**
 * Wraps a `work` handler: a batch of one runs in its job's context (a
 * refusal is thrown, where pg-boss fails jobs: output, retries, dead
 * letters); a larger batch goes through `runBatch`. A span the code around
 * the handler made active (pg-boss's own process span) stays the handler's
 * parent: the OpenTelemetry entry applies an arrived trace only where no
 * span is active.
 */
export function contextHandler(
  name: string,
  handler: Handler,
  checked: CheckedJobsOptions,
  fail: FailJobs,
): Handler {
  return function (this: unknown, jobs, ...rest) {
    for (const job of jobs) takeMember(job);
    const call = (kept: HandedJob[]) => handler.call(this, kept, ...rest);
    if (jobs.length !== 1) return runBatch(name, jobs, call, checked, fail, rest[0]);
    let context: Context;
    try {
      context = readJobContext(jobs[0] as HandedJob, checked);
    } catch (error) {
      return Promise.reject(error);
    }
    return context.run(() => call(jobs));
  };
}
