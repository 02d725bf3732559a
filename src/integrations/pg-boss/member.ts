/**
 * The reserved member of a job's `data` that holds its context snapshot.
 * pg-boss has no metadata slot a handler can read, so the snapshot rides in
 * the data: `{ ...data, __contextvars: { snapshot } }`, or, for a job sent
 * with null or no data, `{ __contextvars: { snapshot, data: null } }`, so the
 * handler gets back exactly what was sent.
 *
 * Jobs handed to user code lose the member (their `data` is replaced); the
 * member stays reachable on the job object under a `Symbol.for` key, which
 * `contextOf` reads (two copies of this package see each other's).
 */
import { invalidArgType, invalidArgValue } from '../../context/internal.js';

/** The name of the reserved member. */
export const MEMBER = '__contextvars';
const TAKEN = Symbol.for('contextvars.pg-boss.member');

/** What the member holds. */
interface Member {
  readonly snapshot: string;
  /** Present (null) when the job was sent with null or no data. */
  readonly data?: null;
}

function isPlainObject(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return (prototype === Object.prototype || prototype === null) && !Array.isArray(value);
}

/**
 * Refuses data that cannot carry the member: anything but a plain object,
 * null or undefined, and data that already holds it. `argument` names it.
 */
export function checkData(data: unknown, argument: string): void {
  if (data === undefined || data === null) return;
  if (typeof data !== 'object' || !isPlainObject(data)) {
    throw invalidArgType(argument, 'a plain object, null or undefined', data);
  }
  if (Object.hasOwn(data, MEMBER)) {
    throw invalidArgValue(
      argument,
      `holds '${MEMBER}', which contextvars reserves for the job's context snapshot`,
      data,
    );
  }
  // pg-boss stores JSON.stringify(data): a toJSON of its own would decide what
  // is stored, and drop the snapshot with everything else it leaves out.
  if (typeof (data as { toJSON?: unknown }).toJSON === 'function') {
    throw invalidArgValue(
      argument,
      'has a toJSON method, which would decide what pg-boss stores and drop the context ' +
        'snapshot: send the plain data it returns instead',
      data,
    );
  }
}

/**
 * The data to store for `data` (checked first, then `snapshot()` is taken).
 * The caller's object is not changed.
 */
export function withSnapshot(data: unknown, snapshot: () => string, argument: string): object {
  checkData(data, argument);
  if (data === undefined || data === null)
    return { [MEMBER]: { snapshot: snapshot(), data: null } };
  return { ...data, [MEMBER]: { snapshot: snapshot() } };
}

/**
 * New data for a job that carries `member` (or none): the job keeps its
 * snapshot whatever its data becomes. A damaged member is kept as it is, so
 * the job is still refused when it runs.
 */
export function keepingMember(data: unknown, member: unknown, argument: string): unknown {
  if (member === undefined) {
    checkData(data, argument);
    return data;
  }
  const snapshot = (member as Partial<Member> | null)?.snapshot;
  if (typeof snapshot === 'string') return withSnapshot(data, () => snapshot, argument);
  checkData(data, argument);
  return { ...(data as object | null | undefined), [MEMBER]: member };
}

/** Whether `data` holds the member (as stored data does). */
function holdsMember(data: unknown): data is Record<string, unknown> {
  return typeof data === 'object' && data !== null && Object.hasOwn(data, MEMBER);
}

/**
 * Gives `job` back the data that was sent, and keeps the member on the job
 * object for `contextOf`. Jobs without the member are left as they are.
 */
export function takeMember<J extends { data?: unknown }>(job: J): J {
  const stored = job.data;
  if (!holdsMember(stored)) return job;
  const { [MEMBER]: member, ...rest } = stored;
  Object.defineProperty(job, TAKEN, { value: member, configurable: true });
  job.data = (member as Partial<Member> | null)?.data === null ? null : rest;
  return job;
}

/** The member a job carries, taken or still in its data; undefined when it carries none. */
export function memberOf(job: object): unknown {
  if (Object.hasOwn(job, TAKEN)) return (job as { [TAKEN]: unknown })[TAKEN];
  const data = (job as { data?: unknown }).data;
  return holdsMember(data) ? data[MEMBER] : undefined;
}

/** The snapshot text in a member; throws a TypeError saying what is wrong with a damaged one. */
export function snapshotIn(member: unknown): string {
  const snapshot = (member as Partial<Member> | null)?.snapshot;
  if (typeof snapshot !== 'string') {
    throw new TypeError(`the job's '${MEMBER}' member holds no snapshot text`);
  }
  return snapshot;
}
