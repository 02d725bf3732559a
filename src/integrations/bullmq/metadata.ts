/**
 * How a job's telemetry metadata (the string BullMQ keeps in the job's `tm`
 * field) holds the context snapshot.
 *
 * - Alone, the metadata is the snapshot's json text itself (`{"v":...}`).
 * - Beside another telemetry's metadata (`inner`), when that is a JSON object
 *   (bullmq-otel's `{"traceparent":...}`), the snapshot is one more member of
 *   that object, `"contextvars"`, holding the snapshot text as a JSON string:
 *   a plain bullmq-otel reader still finds its own keys and ignores ours.
 * - Inner metadata of any other shape is kept whole:
 *   `{"contextvars":"<snapshot>","inner":"<inner metadata>"}`.
 *
 * Reading never throws: BullMQ 6.7 calls `fromMetadata` outside its
 * try/catch, where a throw hangs the worker. What cannot be read is handed
 * on as found and refused later, where BullMQ fails jobs.
 */

import { JSON_SNAPSHOT_START } from '../../serialization/internal.js';

/** The member that holds the snapshot beside another telemetry's metadata. */
export const SNAPSHOT_MEMBER = 'contextvars';
const INNER_MEMBER = 'inner';

/** A job's metadata taken apart. */
export interface SplitMetadata {
  /**
   * The snapshot as found: undefined when the metadata holds none; a string
   * normally; anything else when the metadata was damaged (refused later).
   */
  readonly snapshot: unknown;
  /** What the inner telemetry reads, if anything. */
  readonly inner: string | undefined;
}

const NOTHING: SplitMetadata = { snapshot: undefined, inner: undefined };

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The metadata to store for a snapshot and the inner telemetry's metadata. */
export function joinMetadata(snapshot: string | undefined, inner: string | undefined): string {
  if (inner === undefined || inner === '') return snapshot ?? '';
  if (snapshot === undefined) return inner;
  const own = `{"${SNAPSHOT_MEMBER}":${JSON.stringify(snapshot)}`;
  const members = parseObject(inner);
  // Merged only when the reader cannot mistake the result for the kept-whole form.
  if (
    members !== undefined &&
    !Object.hasOwn(members, SNAPSHOT_MEMBER) &&
    !Object.hasOwn(members, INNER_MEMBER)
  ) {
    return Object.keys(members).length === 0 ? `${own}}` : `${own},${inner.trimStart().slice(1)}`;
  }
  return `${own},"${INNER_MEMBER}":${JSON.stringify(inner)}}`;
}

/** Takes stored metadata apart; never throws. */
export function splitMetadata(metadata: unknown): SplitMetadata {
  if (typeof metadata !== 'string' || metadata === '') return NOTHING;
  if (metadata.startsWith(JSON_SNAPSHOT_START)) return { snapshot: metadata, inner: undefined };
  const members = parseObject(metadata);
  // Not ours: another telemetry's metadata, handed on whole.
  if (members === undefined || !Object.hasOwn(members, SNAPSHOT_MEMBER)) {
    return { snapshot: undefined, inner: metadata };
  }
  const keptWhole =
    typeof members[INNER_MEMBER] === 'string' && Object.keys(members).length === 2
      ? (members[INNER_MEMBER] as string)
      : undefined;
  return { snapshot: members[SNAPSHOT_MEMBER], inner: keptWhole ?? metadata };
}
