import { invalidArgType, invalidArgValue } from '../../context/internal.js';
import { type ContextJobsOptions, checkJobsOptions } from './options.js';
import { contextHandler, type FailJobs, takeMembers, takeOne } from './receiving.js';
import { CREATING, creating } from './sending.js';
import { keepingUpdate, keepingUpsert, type UpdateMethods } from './updating.js';

/** What `contextJobs` needs of a pg-boss instance (any `PgBoss` has it). */
export interface PgBossLike {
  send(...args: never[]): Promise<unknown>;
  work(...args: never[]): Promise<unknown>;
  fetch(...args: never[]): Promise<unknown>;
}

type Method = (this: unknown, ...args: unknown[]) => Promise<unknown>;
type Methods = Record<string, Method>;

/** Marks an instrumented instance (a `Symbol.for` key: two copies of this package see it). */
const INSTRUMENTED = Symbol.for('contextvars.pg-boss.instrumented');

/** Every method wrapped, so a missing one is found before any is replaced. */
const WRAPPED = [
  ...Object.keys(CREATING),
  'update',
  'upsert',
  'work',
  'fetch',
  'getJobById',
  'findJobs',
  'getSchedules',
  'getSchedule',
  'getSpy',
  'fail',
] as const;

function checkBoss(boss: unknown): Methods {
  const missing = WRAPPED.find(
    (name) => typeof (boss as Partial<Methods> | null)?.[name] !== 'function',
  );
  if (typeof boss !== 'object' || boss === null || missing !== undefined) {
    throw invalidArgType('boss', `a PgBoss instance (pg-boss 12; no ${missing} method)`, boss);
  }
  if (Object.hasOwn(boss, INSTRUMENTED)) {
    throw invalidArgValue(
      'boss',
      'is already instrumented by contextJobs(): instrument each PgBoss instance once',
      boss,
    );
  }
  return boss as unknown as Methods;
}

/** An original method whose result is handed out without the snapshot member. */
const handingOut = (original: Method, take: (result: unknown) => unknown): Method =>
  function (this: unknown, ...args) {
    return original.apply(this, args).then(take);
  };

/** A spy's jobs and selectors see data as it was sent. */
function spyView(spy: {
  clear(): void;
  waitForJob(selector: (data: unknown) => boolean, state: string): Promise<unknown>;
  waitForJobWithId(id: string, state: string): Promise<unknown>;
}) {
  const visible = (data: unknown) => (takeOne({ data }) as { data: unknown }).data;
  return {
    clear: () => spy.clear(),
    waitForJob: (selector: (data: unknown) => boolean, state: string) =>
      spy.waitForJob((data) => selector(visible(data)), state).then(takeOne),
    waitForJobWithId: (id: string, state: string) => spy.waitForJobWithId(id, state).then(takeOne),
  };
}

function wrapReceiving(boss: Methods, original: Methods, options: ContextJobsOptions): void {
  const checked = checkJobsOptions(options);
  const fail = original.fail?.bind(boss) as unknown as FailJobs;
  boss.work = function (this: unknown, name, ...rest) {
    const at = rest.length === 1 ? 0 : 1;
    const handler = rest[at];
    if (typeof handler === 'function') {
      rest[at] = contextHandler(name as string, handler as never, checked, fail);
    }
    return (original.work as Method).call(this, name, ...rest);
  };
  boss.fetch = handingOut(original.fetch as Method, takeMembers);
  boss.findJobs = handingOut(original.findJobs as Method, takeMembers);
  boss.getSchedules = handingOut(original.getSchedules as Method, takeMembers);
  boss.getJobById = handingOut(original.getJobById as Method, takeOne);
  boss.getSchedule = handingOut(original.getSchedule as Method, takeOne);
  const getSpy = original.getSpy as unknown as (name: string) => never;
  boss.getSpy = function (this: unknown, name) {
    return spyView(getSpy.call(this, name as string)) as never;
  };
}

/**
 * Instruments a pg-boss 12 instance so every job carries the context of
 * the code that created it, and returns the same instance.
 *
 * - `send`, `sendAfter`, `sendThrottled`, `sendDebounced`, `insert`,
 *   `upsert`, `flow`, `publish` and `schedule` put a json snapshot of the
 *   calling code's context (signed with `key`) in each job's `data`, under
 *   the reserved member `__contextvars` (scheduled jobs: the `schedule()`
 *   call's context). `update` keeps each job's snapshot. Data must be a plain
 *   object, null or undefined, without that member: anything else rejects
 *   with `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE`.
 * - `work` handlers, `fetch`, `getJobById`, `findJobs`, `getSchedules`,
 *   `getSchedule` and spies hand out jobs without the member: their data is
 *   exactly what was sent.
 * - A `work` handler given one job runs in a new Context read from that job's
 *   snapshot, on every attempt (retries, expired and re-claimed jobs). A
 *   refused snapshot fails the job with `ERR_CONTEXT_DESERIALIZE` in its
 *   output, and the handler does not run. Given more jobs, the handler runs
 *   in an empty context, refused jobs are failed alone and left out, and
 *   `contextOf(job)` gives each job's context.
 *
 * Throws `ERR_INVALID_ARG_TYPE` for anything but a pg-boss 12 instance and
 * `ERR_INVALID_ARG_VALUE` for one already instrumented.
 *
 * @example
 * const boss = contextJobs(new PgBoss(process.env.DATABASE_URL), { key: process.env.CONTEXT_KEY });
 * await boss.start();
 * await boss.send('render', { page: 1 });                  // carries the caller's context
 * await boss.work('render', async ([job]) => render(job.data, requestId.get()));
 */
export function contextJobs<B extends PgBossLike>(boss: B, options?: ContextJobsOptions): B {
  const methods = checkBoss(boss);
  const { write } = checkJobsOptions(options);
  const original: Methods = {};
  for (const name of WRAPPED) original[name] = methods[name] as Method;
  for (const [name, rewrite] of Object.entries(CREATING)) {
    methods[name] = creating(original[name] as Method, rewrite, write);
  }
  const updating = original as unknown as UpdateMethods;
  methods.update = keepingUpdate(updating);
  methods.upsert = keepingUpsert(updating, write);
  wrapReceiving(methods, original, options ?? {});
  Object.defineProperty(boss, INSTRUMENTED, { value: true });
  return boss;
}
