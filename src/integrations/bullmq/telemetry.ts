import {
  type Attributes,
  type AttributeValue,
  type ContextManager,
  type Exception,
  type Span,
  SpanKind,
  type SpanOptions,
  type Telemetry,
  type Time,
  type Tracer,
} from 'bullmq';
import { copyContext } from '../../context/index.js';
import { current, invalidArgType } from '../../context/internal.js';
import { instrumentBullMQ, JOB_RUNNER } from './instrument.js';
import {
  type CheckedJobContextOptions,
  checkJobContextOptions,
  type JobContextOptions,
  jobRunner,
} from './job-context.js';
import { joinMetadata, splitMetadata } from './metadata.js';

/** Options of `contextTelemetry`. */
export interface ContextTelemetryOptions extends JobContextOptions {
  /**
   * Another BullMQ telemetry to compose with, such as bullmq-otel's
   * `new BullMQOtel()`: its spans, metrics and metadata keep working, and
   * its metadata stays readable by plain bullmq-otel readers. Metadata that
   * holds no snapshot of ours is handed to it (without `inner`, a Worker
   * with `key` refuses such metadata).
   */
  inner?: Telemetry<unknown>;
}

/**
 * What BullMQ carries around as the telemetry context of a
 * `contextTelemetry()`. Opaque: only BullMQ and this package use it.
 */
export interface JobTelemetryContext {
  /** Within one job's traces: its snapshot as stored (undefined if it carries none). */
  readonly snapshot: unknown;
  /** True within one job's traces, where its stored metadata is known. */
  readonly ofJob: boolean;
  /** True in a producer span's context: its metadata is a fresh snapshot. */
  readonly producer: boolean;
  /** The inner telemetry's context. */
  readonly inner: unknown;
}

const OUTSIDE_JOBS: JobTelemetryContext = Object.freeze({
  snapshot: undefined,
  ofJob: false,
  producer: false,
  inner: undefined,
});

class JobSpan implements Span<JobTelemetryContext> {
  constructor(
    private readonly producer: boolean,
    private readonly inner: Span<unknown> | undefined,
  ) {}

  setSpanOnContext(ctx: JobTelemetryContext): JobTelemetryContext {
    if (this.inner === undefined && ctx.producer === this.producer) return ctx;
    return {
      snapshot: ctx.snapshot,
      ofJob: ctx.ofJob,
      producer: this.producer,
      inner: this.inner?.setSpanOnContext(ctx.inner),
    };
  }
  setAttribute(key: string, value: AttributeValue): void {
    this.inner?.setAttribute(key, value);
  }
  setAttributes(attributes: Attributes): void {
    this.inner?.setAttributes(attributes);
  }
  addEvent(name: string, attributes?: Attributes): void {
    this.inner?.addEvent(name, attributes);
  }
  recordException(exception: Exception, time?: Time): void {
    this.inner?.recordException(exception, time);
  }
  end(): void {
    this.inner?.end();
  }
}

const PRODUCER_SPAN = new JobSpan(true, undefined);
const OTHER_SPAN = new JobSpan(false, undefined);

class JobTracer implements Tracer<JobTelemetryContext> {
  constructor(private readonly inner: Tracer<unknown> | undefined) {}

  startSpan(name: string, options?: SpanOptions, context?: JobTelemetryContext): Span {
    const producer = options?.kind === SpanKind.PRODUCER;
    if (this.inner === undefined) return producer ? PRODUCER_SPAN : OTHER_SPAN;
    return new JobSpan(producer, this.inner.startSpan(name, options, context?.inner));
  }
}

/**
 * The context manager BullMQ asks for metadata when jobs are added, and when
 * an attempt fails. Producer spans get a fresh snapshot of the calling code's
 * context; the rewrite on failure gets the failing job's own enqueue-time
 * snapshot back, never what the attempt left behind. None of these hooks
 * throws on bad input (see instrument.ts); only a context that cannot be
 * serialized makes `add` reject, before anything is stored.
 *
 * Which job's traces are running is found through the contextvars context
 * itself: `with` runs a job's traces in a fresh copy of the current context,
 * remembered (weakly) with the job's telemetry context. A second
 * AsyncLocalStorage would do the same, at a cost on Node 20 of about 0.1 us
 * on every promise of the process (BullMQ makes dozens per job).
 */
class JobContextManager implements ContextManager<JobTelemetryContext> {
  private readonly jobs = new WeakMap<object, JobTelemetryContext>();
  constructor(
    private readonly options: CheckedJobContextOptions,
    private readonly inner: ContextManager<unknown> | undefined,
  ) {}

  private stored(): JobTelemetryContext | undefined {
    return this.jobs.get(current());
  }

  active(): JobTelemetryContext {
    const stored = this.stored() ?? OUTSIDE_JOBS;
    if (this.inner === undefined) return stored;
    return { ...stored, producer: false, inner: this.inner.active() };
  }

  root(): JobTelemetryContext {
    const inner = this.inner;
    if (inner === undefined) return OUTSIDE_JOBS;
    return { ...OUTSIDE_JOBS, inner: inner.root === undefined ? inner.active() : inner.root() };
  }

  with<A extends (...args: never[]) => unknown>(ctx: JobTelemetryContext, fn: A): ReturnType<A> {
    const inner = this.inner;
    const run = inner === undefined ? fn : () => inner.with(ctx.inner, fn);
    // Only a job's own traces need a context of their own; adds and the
    // worker's loop run where they are.
    if (this.stored() === (ctx.ofJob ? ctx : undefined)) return run() as ReturnType<A>;
    const holder = copyContext();
    this.jobs.set(holder, ctx);
    return holder.run(run) as ReturnType<A>;
  }

  getMetadata(ctx: JobTelemetryContext): string {
    if (ctx.producer) {
      const snapshot = this.options.write();
      return joinMetadata(snapshot, this.inner?.getMetadata(ctx.inner));
    }
    // A failing attempt: the job keeps its enqueue-time snapshot. '' leaves
    // the stored metadata as it is, for failures outside a job's traces and
    // for metadata too damaged to rebuild.
    if (!ctx.ofJob || (ctx.snapshot !== undefined && typeof ctx.snapshot !== 'string')) return '';
    let inner: string | undefined;
    try {
      inner = this.inner?.getMetadata(ctx.inner);
    } catch {
      return '';
    }
    return joinMetadata(ctx.snapshot, inner);
  }

  fromMetadata(active: JobTelemetryContext, metadata: string): JobTelemetryContext {
    const { snapshot, inner } = splitMetadata(metadata);
    return { snapshot, ofJob: true, producer: false, inner: this.innerFrom(active.inner, inner) };
  }

  private innerFrom(active: unknown, metadata: string | undefined): unknown {
    if (this.inner === undefined || metadata === undefined) return active;
    try {
      return this.inner.fromMetadata(active, metadata);
    } catch {
      return active; // as if the job carried no inner metadata
    }
  }
}

/** `options.inner`: undefined, or a BullMQ telemetry. */
export function checkInner(inner: unknown): Telemetry<unknown> | undefined {
  if (inner === undefined) return undefined;
  const { tracer, contextManager } = (inner ?? {}) as Partial<Telemetry<unknown>>;
  if (typeof tracer?.startSpan !== 'function' || typeof contextManager?.with !== 'function') {
    throw invalidArgType(
      'options.inner',
      'a BullMQ telemetry (an object with tracer and contextManager)',
      inner,
    );
  }
  return inner as Telemetry<unknown>;
}

/** A BullMQ telemetry that carries contexts with jobs; see `contextTelemetry`. */
export interface ContextTelemetry extends Telemetry<JobTelemetryContext> {}

/**
 * A BullMQ telemetry that carries the context with every job: give it to a
 * Queue, FlowProducer or Worker as `telemetry`. `add`, `addBulk`, flows and
 * job schedulers store a json snapshot of the adding code's context in the
 * job's telemetry metadata (beside its data; with `key`, signed for the use
 * `bullmq`, or `bullmq:<use>`); a Worker runs each attempt of the job in a
 * new Context read from that snapshot. With `key`, a job whose snapshot is
 * refused (unsigned, forged, for another use, stale, damaged; missing, with
 * `requireSnapshot`) fails with `ERR_CONTEXT_DESERIALIZE` and its processor
 * never runs; a processor that throws something other than an Error fails
 * its job with an Error saying what was thrown.
 *
 * @example
 * const telemetry = contextTelemetry({ key: process.env.CONTEXT_KEY });
 * const queue = new Queue('reports', { connection, telemetry });
 * new Worker('reports', async (job) => render(job.data, requestId.get()), { connection, telemetry });
 */
export function contextTelemetry(options?: ContextTelemetryOptions): ContextTelemetry {
  const checked = checkJobContextOptions(options, 'options');
  const inner = checkInner(options?.inner);
  instrumentBullMQ();
  const telemetry: ContextTelemetry & { [JOB_RUNNER]: unknown } = {
    tracer: new JobTracer(inner?.tracer),
    contextManager: new JobContextManager(checked, inner?.contextManager),
    [JOB_RUNNER]: jobRunner(checked),
  };
  if (inner?.meter !== undefined) telemetry.meter = inner.meter;
  return telemetry;
}
