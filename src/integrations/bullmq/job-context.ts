import { Context, ContextSerializationError } from '../../context/index.js';
import { invalidArgType } from '../../context/internal.js';
import type { SigningKey } from '../../serialization/index.js';
import {
  refuseUndefinedKey,
  snapshotReader,
  snapshotWriter,
} from '../../serialization/internal.js';
import { splitMetadata } from './metadata.js';

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
   * attempt that reads it. It counts from the enqueue: delays, backoff
   * and waiting time all count. Needs `key`.
   */
  maxAge?: number;
}

/** Runs `call` in the context a job carries, or refuses the job. */
export type JobRunner = (job: unknown, call: () => unknown) => unknown;

export interface CheckedJobContextOptions {
  /** Writes the snapshot a job carries (json, signed with the first key if any). */
  readonly write: () => string;
  /** Reads a snapshot arriving with a job (with every key and maxAge). */
  readonly read: (text: string) => Context;
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
  const { key, maxAge } = options as JobContextOptions;
  const signingKey = isKeyList(key) ? key[0] : key;
  const write = snapshotWriter(
    signingKey === undefined ? { format: 'json' } : { format: 'json', key: signingKey },
  ) as () => string;
  const read = snapshotReader({
    ...(key !== undefined && { key }),
    ...(maxAge !== undefined && { maxAge }),
  });
  return { write, read };
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
 * Why a job was not run. BullMQ stores only the message as the job's failed
 * reason, so the message starts with the code.
 */
function refusal(job: unknown, cause: unknown): ContextSerializationError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new ContextSerializationError(
    'ERR_CONTEXT_DESERIALIZE',
    `ERR_CONTEXT_DESERIALIZE: ${describeJob(job)} was not run: its context snapshot was refused. ${reason}`,
    { cause },
  );
}

/**
 * The runner for checked options: `call` runs in a new Context read from the
 * job's snapshot (an empty one when the job carries none). A snapshot that
 * cannot be read or trusted, or that a carried entry refuses when it arrives,
 * rejects with `ERR_CONTEXT_DESERIALIZE` and `call` never runs. A span an
 * inner telemetry (bullmq-otel) made active around the job stays the
 * processor's parent: the OpenTelemetry entry applies an arrived trace only
 * where no span is active.
 */
export function jobRunner({ read }: CheckedJobContextOptions): JobRunner {
  return (job, call) => {
    const { snapshot } = splitMetadata(metadataOf(job));
    let context: Context;
    try {
      if (snapshot === undefined) {
        context = new Context();
      } else if (typeof snapshot === 'string') {
        context = read(snapshot);
      } else {
        throw new TypeError('the metadata holds something other than a snapshot text');
      }
    } catch (error) {
      return Promise.reject(refusal(job, error));
    }
    return context.run(call);
  };
}
