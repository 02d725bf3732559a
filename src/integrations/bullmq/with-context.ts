import { invalidArgType } from '../../context/internal.js';
import {
  type ContextJob,
  checkJobContextOptions,
  type JobContextOptions,
  jobRunner,
} from './job-context.js';

/**
 * A processor that runs each job in a new Context read from the snapshot the
 * job carries (an empty one when it carries none), for sandboxed processor
 * files, forked or with `useWorkerThreads`, where no telemetry runs. The
 * returned function keeps the processor's `length` (BullMQ passes the abort
 * signal to in-process processors declaring three parameters) and `name`.
 * A snapshot that is malformed, or with `key` unsigned, forged or older than
 * `maxAge`, fails the job on that attempt with `ERR_CONTEXT_DESERIALIZE`;
 * the processor does not run.
 *
 * @example
 * // processor.mjs, given to `new Worker('reports', processorFile, { connection })`
 * export default withContext(async (job) => render(job.data, requestId.get()), {
 *   key: process.env.CONTEXT_KEY,
 * });
 */
export function withContext<J extends ContextJob, A extends unknown[], R>(
  processor: (job: J, ...rest: A) => R,
  options?: JobContextOptions,
): (job: J, ...rest: A) => R {
  if (typeof processor !== 'function') {
    throw invalidArgType('processor', 'of type function', processor);
  }
  const run = jobRunner(checkJobContextOptions(options, 'options'));
  const wrapped = function (this: unknown, job: J, ...rest: A) {
    return run(job, () => processor.call(this, job, ...rest)) as R;
  };
  Object.defineProperty(wrapped, 'length', { value: processor.length });
  Object.defineProperty(wrapped, 'name', { value: processor.name });
  return wrapped;
}
