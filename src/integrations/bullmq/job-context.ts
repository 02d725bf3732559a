import { types } from 'node:util';
import { Context, ContextSerializationError } from '../../context/index.js';
import { describe, invalidArgType, invalidArgValue, withCode } from '../../context/internal.js';
import type { SigningKey } from '../../serialization/index.js';
import {
  boundUse,
  cannotDeserialize,
  refuseUndefinedKey,
  snapshotReader,
  snapshotWriter,
} from '../../serialization/internal.js';
import { splitMetadata } from './metadata.js';

/** The use every job snapshot is signed for; `options.use` narrows it (`bullmq:<use>`). */
export const JOB_USE = 'bullmq';

/** How snapshots arriving with jobs are checked. */
export interface JobContextOptions {
  /**
   * Signature key: snapshots are signed with it when jobs are added, and
   * required when jobs run (unsigned or forged ones are refused). A list
   * rotates keys: the first signs, any of them verifies.
   */
  key?: SigningKey | readonly SigningKey[];
  /**
   * Refuses a snapshot signed more than this many milliseconds before the
   * attempt that reads it (or stamped that far in the future). It counts
   * from the enqueue: delays, backoff and waiting time all count. Needs `key`.
   */
  maxAge?: number;
  /**
   * Narrows what the signature is for (needs `key`): job snapshots are
   * always signed for `bullmq`, never valid as a header; with
   * `use: 'tenant-a'` they are signed for, and must have been signed for,
   * `bullmq:tenant-a`, so a snapshot moved onto a job of a queue whose
   * telemetry names another use is refused.
   */
  use?: string;
  /**
   * Also accept snapshots signed by a contextvars whose format names no use
   * (version 1), while a rolling upgrade has such producers or jobs left.
   * Needs `key`.
   */
  acceptUnbound?: boolean;
  /**
   * Fail jobs that carry no snapshot at all (needs `key`), so a snapshot
   * stripped from a job's metadata is detected. Jobs added with
   * `omitContext` carry none either.
   */
  requireSnapshot?: boolean;
}

/** Runs `call` in the context a job carries, or refuses the job. */
export type JobRunner = (job: unknown, call: () => unknown) => unknown;

export interface CheckedJobContextOptions {
  /** Writes the snapshot a job carries (json, signed with the first key if any). */
  readonly write: () => string;
  /** Reads a snapshot arriving with a job (with every key, the use and maxAge). */
  readonly read: (text: string) => Context;
  /**
   * What metadata holding no snapshot of ours is, with a key: `'refused'`
   * (no inner telemetry: nothing else may be there); with an inner
   * telemetry, text it reads (`'inner'`), anything else refused. Without a
   * key (`'unchecked'`), it is not ours to judge.
   */
  readonly foreign: 'refused' | 'inner' | 'unchecked';
  readonly requireSnapshot: boolean;
}

/** Checks the options once, where they are given; the serialization layer names the option at fault. */
export function checkJobContextOptions(
  options: unknown,
  argument: string,
): CheckedJobContextOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null) {
    throw invalidArgType(argument, 'an object', options);
  }
  refuseUndefinedKey(options as Record<string, unknown>, `${argument}.key`);
  const { key, maxAge, use, acceptUnbound, requireSnapshot = false } = options as JobContextOptions;
  const inner = (options as { inner?: unknown }).inner;
  if (typeof requireSnapshot !== 'boolean') {
    throw invalidArgType(`${argument}.requireSnapshot`, 'of type boolean', requireSnapshot);
  }
  if (key === undefined) {
    const needKey = { use, requireSnapshot: requireSnapshot || undefined };
    for (const [name, value] of Object.entries(needKey)) {
      if (value !== undefined) {
        throw invalidArgValue(
          `${argument}.${name}`,
          'needs options.key: it applies to signed snapshots only',
          value,
        );
      }
    }
  }
  const signingKey = isKeyList(key) ? key[0] : key;
  const bound = boundUse(JOB_USE, use, `${argument}.use`);
  const write = snapshotWriter(
    signingKey === undefined ? { format: 'json' } : { format: 'json', key: signingKey, use: bound },
  ) as () => string;
  const read = snapshotReader({
    ...(key !== undefined && { key, use: bound }),
    ...(maxAge !== undefined && { maxAge }),
    ...(acceptUnbound !== undefined && { acceptUnbound }),
  });
  return {
    write,
    read,
    foreign: key === undefined ? 'unchecked' : inner === undefined ? 'refused' : 'inner',
    requireSnapshot,
  };
}

function isKeyList(key: JobContextOptions['key']): key is readonly SigningKey[] {
  return Array.isArray(key);
}

/** The job's telemetry metadata, read defensively: sandboxed jobs are plain JSON. */
function metadataOf(job: unknown): unknown {
  const opts = (job as { opts?: { telemetry?: { metadata?: unknown } } } | null | undefined)?.opts;
  return opts?.telemetry?.metadata;
}

function describeJob(job: unknown): string {
  const { id, queueName } = (job ?? {}) as { id?: unknown; queueName?: unknown };
  const where = typeof queueName === 'string' ? ` of queue '${queueName}'` : '';
  return `job ${typeof id === 'string' ? id : '(no id)'}${where}`;
}

/**
 * The Context `job` runs in, read from its metadata: the one reading of a
 * job's metadata, for the processor, `contextOf` and listeners. An empty
 * Context when it carries no snapshot. Throws `ERR_CONTEXT_DESERIALIZE`
 * when it cannot be trusted: a snapshot that is refused or damaged,
 * metadata that is no snapshot of ours where only ours may be (a key and no
 * inner telemetry), or none at all with `requireSnapshot`.
 */
export function readJobContext(job: unknown, checked: CheckedJobContextOptions): Context {
  const metadata = metadataOf(job);
  const { snapshot } = splitMetadata(metadata);
  if (typeof snapshot === 'string') return checked.read(snapshot);
  if (snapshot !== undefined) {
    throw cannotDeserialize('the metadata holds something other than a snapshot text');
  }
  if (
    metadata !== undefined &&
    (checked.foreign === 'refused' || (checked.foreign === 'inner' && typeof metadata !== 'string'))
  ) {
    throw cannotDeserialize(
      `its metadata is not a context snapshot (${describe(metadata)}), and with a key ` +
        (checked.foreign === 'refused'
          ? 'and no inner telemetry nothing else may be there'
          : 'only text an inner telemetry reads may be there'),
    );
  }
  if (checked.requireSnapshot) {
    throw cannotDeserialize('it carries no context snapshot, and requireSnapshot is set');
  }
  return new Context();
}

/**
 * A refused job context, as thrown: by the processor path (`run`: the job
 * was not run) or by `contextOf`. BullMQ stores only an error's message as
 * the job's failed reason, so the message starts with the code.
 */
export function jobContextRefused(
  job: unknown,
  cause: unknown,
  where: 'run' | 'read',
): ContextSerializationError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const what =
    where === 'run'
      ? `${describeJob(job)} was not run: its context was refused`
      : `the context of ${describeJob(job)} was refused`;
  return new ContextSerializationError(
    'ERR_CONTEXT_DESERIALIZE',
    `ERR_CONTEXT_DESERIALIZE: ${what}. ${reason}`,
    { cause },
  );
}

/**
 * What a processor threw, as an Error BullMQ can fail the job with: BullMQ
 * 6.7 reads `error.message` of whatever was thrown, and a `throw null`
 * leaves the job stuck in active.
 */
function asError(job: unknown, thrown: unknown): unknown {
  if (thrown instanceof Error || types.isNativeError(thrown)) return thrown;
  return withCode(
    new Error(
      `The processor of ${describeJob(job)} threw ${describeThrown(thrown)}, not an Error`,
      { cause: thrown },
    ),
    'ERR_NON_ERROR_THROWN',
  );
}

function describeThrown(thrown: unknown): string {
  switch (typeof thrown) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return `the string ${JSON.stringify(thrown.length > 60 ? `${thrown.slice(0, 57)}...` : thrown)}`;
    case 'bigint':
      return `the bigint ${thrown}n`;
    case 'number':
    case 'boolean':
    case 'symbol':
      return `the ${typeof thrown} ${String(thrown)}`;
    case 'function':
      return describe(thrown);
  }
  if (thrown === null) return 'null';
  if (Object.getPrototypeOf(thrown) !== Object.prototype) return describe(thrown);
  let shown: string | undefined;
  try {
    shown = JSON.stringify(thrown);
  } catch {
    // A cycle, a BigInt or a getter that throws: the kind alone.
  }
  if (shown === undefined) return 'a plain object';
  return `a plain object ${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown}`;
}

/**
 * The runner for checked options: `call` runs in a new Context read from the
 * job's snapshot (`readJobContext`). A refusal rejects with
 * `ERR_CONTEXT_DESERIALIZE` and `call` never runs; a processor that throws
 * something other than an Error fails the job with an Error saying what.
 * A span an inner telemetry (bullmq-otel) made active around the job stays
 * the processor's parent: the OpenTelemetry entry applies an arrived trace
 * only where no span is active.
 */
export function jobRunner(checked: CheckedJobContextOptions): JobRunner {
  return (job, call) => {
    let context: Context;
    try {
      context = readJobContext(job, checked);
    } catch (error) {
      return Promise.reject(jobContextRefused(job, error, 'run'));
    }
    const failWithError = (thrown: unknown) => {
      throw asError(job, thrown);
    };
    let result: unknown;
    try {
      result = context.run(call);
    } catch (thrown) {
      failWithError(thrown);
    }
    return isThenable(result) ? result.then(undefined, failWithError) : result;
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
