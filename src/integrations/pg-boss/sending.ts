/**
 * The methods that create jobs: each puts a snapshot of the calling code's
 * context into the data of every job it creates (one snapshot per call).
 */
import { withSnapshot } from './member.js';

/** Gives the data to store for `data` (named `argument` in errors). */
type Stamp = (data: unknown, argument: string) => unknown;

/** Rewrites a call's arguments with stamped data. */
type Rewrite = (args: unknown[], stamp: Stamp) => unknown[];

/** The data argument at `index` (send's string form, sendAfter, publish, schedule...). */
const dataAt =
  (index: number): Rewrite =>
  (args, stamp) => {
    const copy = [...args];
    copy[index] = stamp(args[index], 'data');
    return copy;
  };

/** Each job of a list (insert, flow) at `index`; pg-boss judges anything else itself. */
const jobsAt =
  (index: number): Rewrite =>
  (args, stamp) => {
    const jobs = args[index];
    if (!Array.isArray(jobs)) return args;
    const copy = [...args];
    copy[index] = jobs.map((job: unknown, i) =>
      typeof job === 'object' && job !== null
        ? { ...job, data: stamp((job as { data?: unknown }).data, `jobs[${i}].data`) }
        : job,
    );
    return copy;
  };

/** `send(name, data, options)` or `send({ name, data, options })`. */
const sendRewrite: Rewrite = (args, stamp) => {
  const [request] = args;
  if (typeof request !== 'object' || request === null) return dataAt(1)(args, stamp);
  const data = stamp((request as { data?: unknown }).data, 'request.data');
  return [{ ...request, data }, ...args.slice(1)];
};

/** Every pg-boss method that creates jobs, with where its data is. */
export const CREATING: Readonly<Record<string, Rewrite>> = {
  send: sendRewrite,
  sendAfter: dataAt(1),
  sendThrottled: dataAt(1),
  sendDebounced: dataAt(1),
  publish: dataAt(1),
  schedule: dataAt(2),
  insert: jobsAt(1),
  flow: jobsAt(0),
};

type Method = (this: unknown, ...args: unknown[]) => Promise<unknown>;

/**
 * `original` with every job it creates carrying `write()`'s snapshot. Bad
 * data, or a context that cannot be serialized, rejects before anything is
 * stored.
 */
export function creating(original: Method, rewrite: Rewrite, write: () => string): Method {
  return function (this: unknown, ...args) {
    let snapshot: string | undefined;
    const take = () => {
      snapshot ??= write();
      return snapshot;
    };
    let rewritten: unknown[];
    try {
      rewritten = rewrite(args, (data, argument) => withSnapshot(data, take, argument));
    } catch (error) {
      return Promise.reject(error);
    }
    return original.apply(this, rewritten);
  };
}
