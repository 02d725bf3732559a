import { FlowProducer, Worker } from 'bullmq';
import type { JobRunner } from './job-context.js';

/**
 * Two methods of the bullmq imported here are wrapped, once, because the
 * telemetry interface alone cannot keep two promises:
 *
 * - `Worker#callProcessJob`: a snapshot that must be refused has to fail the
 *   job where BullMQ catches processor errors. BullMQ 6.7 calls the telemetry
 *   hooks (`fromMetadata`, `with`) outside that try/catch, and a throw there
 *   leaves the job active and the worker silent. Around the processor, the
 *   refusal is an ordinary failure: failed reason, `failed` event, retries.
 * - `FlowProducer#addNode`: BullMQ attaches metadata only to flow nodes that
 *   have `opts`; a node without gets an empty `opts`.
 *
 * Both wrappers act only for instances whose telemetry is a
 * `contextTelemetry()` (found by a `Symbol.for` key, so two copies of this
 * package recognise each other's); every other Worker and FlowProducer runs
 * BullMQ's own code unchanged.
 */

/** Where a contextTelemetry keeps its job runner. */
export const JOB_RUNNER = Symbol.for('contextvars.bullmq.jobRunner');
const WRAPPED = Symbol.for('contextvars.bullmq.wrapped');

interface WorkerInternals {
  opts: { telemetry?: unknown };
  callProcessJob(job: unknown, token: string, signal?: AbortSignal): Promise<unknown>;
}

interface AddNodeArguments {
  node: { opts?: unknown };
}

interface FlowProducerInternals {
  telemetry?: unknown;
  addNode(args: AddNodeArguments): Promise<unknown>;
}

function runnerOf(telemetry: unknown): JobRunner | undefined {
  if (typeof telemetry !== 'object' || telemetry === null) return undefined;
  return (telemetry as { [JOB_RUNNER]?: JobRunner })[JOB_RUNNER];
}

function markWrapped(prototype: object): boolean {
  if (Object.hasOwn(prototype, WRAPPED)) return false;
  Object.defineProperty(prototype, WRAPPED, { value: true });
  return true;
}

/** Wraps the two methods, once. */
export function instrumentBullMQ(): void {
  const worker = Worker.prototype as unknown as WorkerInternals;
  if (markWrapped(worker)) {
    const callProcessJob = worker.callProcessJob;
    worker.callProcessJob = function (this: WorkerInternals, job, token, signal) {
      const run = runnerOf(this.opts.telemetry);
      if (run === undefined) return callProcessJob.call(this, job, token, signal);
      return run(job, () => callProcessJob.call(this, job, token, signal)) as Promise<unknown>;
    };
  }
  const flow = FlowProducer.prototype as unknown as FlowProducerInternals;
  if (markWrapped(flow)) {
    const addNode = flow.addNode;
    flow.addNode = function (this: FlowProducerInternals, args) {
      const bare = args.node.opts === undefined && runnerOf(this.telemetry) !== undefined;
      return addNode.call(this, bare ? { ...args, node: { ...args.node, opts: {} } } : args);
    };
  }
}
