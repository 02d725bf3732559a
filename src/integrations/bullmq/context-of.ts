import type { Job, SandboxedJob } from 'bullmq';
import { Context } from '../../context/index.js';
import { invalidArgType } from '../../context/internal.js';
import { checkJobContextOptions, jobContextRefused, readJobContext } from './job-context.js';
import { type ContextTelemetryOptions, checkInner } from './telemetry.js';

/**
 * Options of `contextOf` and `inJobContext`: the ones given to the Worker's
 * `contextTelemetry` (or to `withContext`), so a job's snapshot is judged
 * as its processor judges it. Of `inner`, only whether it is given counts:
 * with a key and no inner telemetry, metadata that is not a snapshot of
 * ours is refused.
 */
export type JobContextReadOptions = ContextTelemetryOptions;

/** What `contextOf` reads of a job: a BullMQ `Job`, or the plain `SandboxedJob` of a processor file. */
export type JobWithContext = Pick<Job, 'opts'> | Pick<SandboxedJob, 'opts'>;

/**
 * The Context `job` runs in, read from its metadata exactly as its
 * processor reads it: a new Context each call, holding the enqueue-time
 * context; an empty one when the job carries no snapshot. For code outside
 * the processor: a Worker's event listeners (see `inJobContext`), a job
 * fetched with `queue.getJob(id)`. Throws `ContextSerializationError`
 * `ERR_CONTEXT_DESERIALIZE` when the snapshot is refused (unsigned, forged,
 * another use, older than `maxAge`, damaged; none with `requireSnapshot`),
 * as `deserializeContext` does.
 *
 * @example
 * const job = await queue.getJob(id);
 * if (job) contextOf(job, { key }).run(() => log.info('inspected')); // the enqueuer's request id
 */
export function contextOf(job: JobWithContext, options?: JobContextReadOptions): Context {
  if (typeof job !== 'object' || job === null) {
    throw invalidArgType('job', 'a BullMQ job', job);
  }
  const checked = checkJobContextOptions(options, 'options');
  checkInner(options?.inner);
  try {
    return readJobContext(job, checked);
  } catch (error) {
    throw jobContextRefused(job, error, 'read');
  }
}

/**
 * Wraps a listener whose first argument is a job (a Worker's `completed`,
 * `failed`, `progress`, `active` events...) so it runs in that job's
 * context, as `contextOf` reads it. BullMQ emits those events outside the
 * job's context. Where the job is missing (`failed` may pass none) or its
 * snapshot is refused, the listener runs in an empty Context: a listener
 * never throws because of a job's metadata. `this` and every argument are
 * passed on; options are checked here, once.
 *
 * @example
 * worker.on('failed', inJobContext((job, error) => log.warn({ err: error }, 'job failed'), { key }));
 */
export function inJobContext<A extends unknown[], R>(
  listener: (...args: A) => R,
  options?: JobContextReadOptions,
): (...args: A) => R {
  if (typeof listener !== 'function') {
    throw invalidArgType('listener', 'of type function', listener);
  }
  const checked = checkJobContextOptions(options, 'options');
  checkInner(options?.inner);
  const call = listener as (this: unknown, ...args: A) => R;
  const wrapped = function (this: unknown, ...args: A): R {
    const job = args[0];
    let context: Context;
    try {
      context =
        typeof job === 'object' && job !== null ? readJobContext(job, checked) : new Context();
    } catch {
      context = new Context();
    }
    return context.run(() => call.apply(this, args));
  };
  Object.defineProperty(wrapped, 'length', { value: listener.length });
  Object.defineProperty(wrapped, 'name', { value: listener.name });
  return wrapped;
}
