import { Context, ContextSerializationError } from '../../context/index.js';
import { invalidArgType } from '../../context/internal.js';
import { memberOf, snapshotIn } from './member.js';
import { type CheckedJobsOptions, type ContextJobsOptions, checkJobsOptions } from './options.js';

/** What `contextOf` reads of a job: its data (or the member kept when it was handed out). */
export interface JobLike {
  readonly id?: unknown;
  readonly name?: unknown;
  readonly data?: unknown;
}

function describeJob(job: JobLike): string {
  const id = typeof job.id === 'string' ? job.id : '(no id)';
  return typeof job.name === 'string' ? `job ${id} of queue '${job.name}'` : `job ${id}`;
}

/**
 * Why a job was not run. pg-boss stores the error as the job's output, so
 * the message starts with the code as well.
 */
function refusal(job: JobLike, cause: unknown): ContextSerializationError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ContextSerializationError(
    'ERR_CONTEXT_DESERIALIZE',
    `ERR_CONTEXT_DESERIALIZE: ${describeJob(job)} was not run: its context snapshot was refused. ${reason}`,
    { cause },
  );
}

/**
 * A new Context read from the snapshot `job` carries (an empty one when it
 * carries none). Throws `ERR_CONTEXT_DESERIALIZE` for a snapshot that is
 * damaged, or with a key unsigned, forged, too old or for another use, and
 * under `requireSnapshot` for a job with none.
 */
export function readJobContext(job: JobLike, checked: CheckedJobsOptions): Context {
  const member = memberOf(job);
  try {
    if (member === undefined) {
      if (checked.requireSnapshot) throw new TypeError('it carries none (requireSnapshot)');
      return new Context();
    }
    return checked.read(snapshotIn(member));
  } catch (error) {
    throw refusal(job, error);
  }
}

/**
 * The Context a pg-boss job runs in: read from the snapshot it carries, an
 * empty Context when it carries none. Works on jobs a handler, `fetch`,
 * `getJobById` or `findJobs` handed out (their data no longer shows the
 * snapshot), and on raw jobs. Give the options the handler's `contextJobs`
 * was given: a refused snapshot throws `ContextSerializationError`
 * `ERR_CONTEXT_DESERIALIZE`, as `deserializeContext` does. Each call returns
 * a new Context. An options object is checked the first time it is given
 * and remembered: pass a new object to change options.
 *
 * @example
 * await boss.work('render', { batchSize: 10 }, async (jobs) => {
 *   for (const job of jobs) await contextOf(job, { key }).run(() => render(job.data));
 * });
 */
export function contextOf(job: JobLike, options?: ContextJobsOptions): Context {
  if (typeof job !== 'object' || job === null) throw invalidArgType('job', 'an object', job);
  return readJobContext(job, checkedOnce(options));
}

const NO_OPTIONS: CheckedJobsOptions = checkJobsOptions(undefined);
// Handlers call contextOf for every job of every batch, mostly with one options object.
const checkedOptions = new WeakMap<object, CheckedJobsOptions>();

/** `options` checked, once per options object. */
function checkedOnce(options: ContextJobsOptions | undefined): CheckedJobsOptions {
  if (typeof options !== 'object' || options === null) {
    return options === undefined ? NO_OPTIONS : checkJobsOptions(options);
  }
  let checked = checkedOptions.get(options);
  if (checked === undefined) {
    checked = checkJobsOptions(options);
    checkedOptions.set(options, checked);
  }
  return checked;
}
