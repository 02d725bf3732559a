import type { Processor, SandboxedJob } from 'bullmq';
import { invalidArgType } from '../../context/internal.js';
import { checkJobContextOptions, type JobContextOptions, jobRunner } from './job-context.js';

/**
 * The function a sandboxed processor file exports: BullMQ calls it with a
 * `SandboxedJob` (plain JSON), the token and an abort signal.
 */
export type SandboxedProcessor = (
  job: SandboxedJob,
  token?: string,
  signal?: AbortSignal,
) => unknown;

/**
 * A processor that runs each job in a new Context read from the snapshot the
 * job carries (an empty one when it carries none), for sandboxed processor
 * files, forked or with `useWorkerThreads`, where no telemetry runs (an
 * in-process Worker given `telemetry: contextTelemetry()` needs no wrapper).
 * It returns the processor's own type, and keeps its `length` (BullMQ passes
 * the abort signal to in-process processors declaring three parameters) and
 * `name`. A snapshot that is malformed, or with `key` unsigned, forged,
 * signed for another use, older than `maxAge`, or metadata that is no
 * snapshot (none at all, with `requireSnapshot`), fails the job on that
 * attempt with `ERR_CONTEXT_DESERIALIZE`; the processor does not run.
 *
 * @example
 * // processor.mjs, given to `new Worker('reports', processorFile, { connection })`
 * export default withContext(async (job) => render(job.data, requestId.get()), {
 *   key: process.env.CONTEXT_KEY,
 * });
 */
export function withContext<P extends Processor>(processor: P, options?: JobContextOptions): P;
export function withContext<P extends SandboxedProcessor>(
  processor: P,
  options?: JobContextOptions,
): P;
export function withContext(
  processor: Processor | SandboxedProcessor,
  options?: JobContextOptions,
): Processor | SandboxedProcessor {
  if (typeof processor !== 'function') {
    throw invalidArgType('processor', 'of type function', processor);
  }
  const run = jobRunner(checkJobContextOptions(options, 'options'));
  const call = processor as (this: unknown, ...args: unknown[]) => unknown;
  const wrapped = function (this: unknown, ...args: unknown[]) {
    return run(args[0], () => call.apply(this, args));
  };
  Object.defineProperty(wrapped, 'length', { value: processor.length });
  Object.defineProperty(wrapped, 'name', { value: processor.name });
  return wrapped as Processor;
}
