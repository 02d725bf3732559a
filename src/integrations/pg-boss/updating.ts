/**
 * `update` and `upsert` keep each job's snapshot: pg-boss replaces a job's
 * data whole, so the jobs a call targets are read first and each is updated
 * by id with its own snapshot put back. A job is never given the updating
 * code's context; an upsert that inserts gives the new job the caller's, as
 * every creating call does. (pg-boss's own trace context follows the same
 * rule: an updated job keeps the trace of the send that created it.)
 */
import { keepingMember, memberOf, withSnapshot } from './member.js';

type Method = (this: unknown, ...args: unknown[]) => Promise<unknown>;

interface UpdateOptions {
  id?: string;
  singletonKey?: string;
  match?: 'newest' | 'oldest' | 'all';
  db?: unknown;
}

interface Target {
  id: string;
  state?: string;
  data?: unknown;
}

/** The pg-boss methods an update reads and writes through, unwrapped. */
export interface UpdateMethods {
  readonly update: Method;
  readonly upsert: Method;
  readonly getJobById: Method;
  readonly findJobs: Method;
}

interface Call {
  readonly name: string;
  readonly data: unknown;
  readonly options: UpdateOptions;
  /** The argument the data came in, for errors. */
  readonly argument: string;
}

/** `update(name, data, options)` or `update({ name, data, options })`. */
function callOf(args: unknown[]): Call {
  const [first] = args;
  if (typeof first === 'object' && first !== null) {
    const { name, data, options } = first as { name: string; data?: unknown; options?: object };
    return { name, data, options: { ...options }, argument: 'request.data' };
  }
  return {
    name: first as string,
    data: args[1],
    options: { ...(args[2] as object | undefined) },
    argument: 'data',
  };
}

const QUEUED = new Set(['created', 'retry']);

/** The most rows one `findJobs` page may hold (pg-boss's own ceiling). */
const PAGE = 100_000;

/**
 * Which option names the target, as pg-boss decides it: by truthiness (a
 * job's own `singletonKey` is null), `id` first. Undefined when the options
 * name none or both, which pg-boss itself refuses.
 */
function targetedBy(options: UpdateOptions): 'id' | 'singletonKey' | undefined {
  if (Boolean(options.id) === Boolean(options.singletonKey)) return undefined;
  return options.id ? 'id' : 'singletonKey';
}

/** Every queued job of a singleton key, oldest first, page after page. */
async function queuedWithKey(
  boss: unknown,
  methods: UpdateMethods,
  call: Call,
  connection: object,
): Promise<Target[]> {
  const found: Target[] = [];
  for (let after: string | undefined; ; ) {
    const page = (await methods.findJobs.call(boss, call.name, {
      key: call.options.singletonKey,
      queued: true,
      limit: PAGE,
      ...(after === undefined ? {} : { after }),
      ...connection,
    })) as Target[];
    found.push(...page);
    if (page.length < PAGE) return found;
    after = (page[page.length - 1] as Target).id;
  }
}

/** The queued jobs the call targets, as pg-boss would pick them (with their stored data). */
async function targetsOf(boss: unknown, methods: UpdateMethods, call: Call): Promise<Target[]> {
  const { id, match = 'newest', db } = call.options;
  const connection = db === undefined ? {} : { db };
  if (targetedBy(call.options) === 'id') {
    const job = (await methods.getJobById.call(boss, call.name, id, connection)) as Target | null;
    return job !== null && QUEUED.has(job.state ?? '') ? [job] : [];
  }
  const found = await queuedWithKey(boss, methods, call, connection);
  if (match === 'all' || found.length === 0) return found;
  return [(match === 'oldest' ? found[0] : found[found.length - 1]) as Target];
}

/** Updates each target by id, its snapshot kept; resolves with pg-boss's response shape. */
async function updateEach(
  boss: unknown,
  methods: UpdateMethods,
  call: Call,
  targets: Target[],
): Promise<{ jobs: string[]; updated: number }> {
  const { singletonKey: _key, match: _match, ...options } = call.options;
  const jobs: string[] = [];
  for (const target of targets) {
    const data = keepingMember(call.data, memberOf(target), call.argument);
    const response = (await methods.update.call(boss, call.name, data, {
      ...options,
      id: target.id,
    })) as { jobs: string[] };
    jobs.push(...response.jobs);
  }
  return { jobs, updated: jobs.length };
}

/** Whether pg-boss itself must judge the call (no data to keep a snapshot in, or no target named). */
function passThrough(call: Call): boolean {
  return call.data === undefined || targetedBy(call.options) === undefined;
}

/** `update`, keeping every job's snapshot. */
export function keepingUpdate(methods: UpdateMethods): Method {
  return async function (this: unknown, ...args) {
    const call = callOf(args);
    if (passThrough(call)) return methods.update.apply(this, args);
    return updateEach(this, methods, call, await targetsOf(this, methods, call));
  };
}

/** `upsert`: updates keep their jobs' snapshots; an insert carries the caller's. */
export function keepingUpsert(methods: UpdateMethods, write: () => string): Method {
  return async function (this: unknown, ...args) {
    const call = callOf(args);
    const targets =
      targetedBy(call.options) === undefined ? [] : await targetsOf(this, methods, call);
    if (targets.length > 0) {
      if (call.data === undefined) return methods.upsert.apply(this, args);
      return { ...(await updateEach(this, methods, call, targets)), inserted: 0 };
    }
    const data = withSnapshot(call.data, write, call.argument);
    return methods.upsert.call(this, call.name, data, call.options);
  };
}
