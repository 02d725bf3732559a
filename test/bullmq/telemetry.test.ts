// contextTelemetry with in-process Workers on a real Redis: what each job
// carries, where it runs, and what a worker refuses.
import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { ContextVar, copyContext, createTask, type ContextVar as Var } from '../../dist/index.js';
import { contextTelemetry } from '../../dist/integrations/bullmq/index.js';
import { deserializeContext } from '../../dist/serialization/index.js';
import { rejectionOf } from '../support/errors.js';
import { hasRedisServer, redisForFile } from '../support/redis.js';
import {
  finished,
  inContext,
  jobKey,
  queueKit,
  replaceMetadata,
  storedMetadata,
} from './support.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const user = new ContextVar<unknown>('user', { default: null });
const tenant = new ContextVar<string>('tenant', { default: 'no-tenant' });
const secret = new ContextVar<string>('secret', { default: 'not-here', propagate: false });

const seen = () => ({
  requestId: requestId.get(),
  user: user.get(),
  tenant: tenant.get(),
  secret: secret.get(),
});

/** What `seen()` reports in a job added in `request(id)`, with `user` set or not. */
const seenIn = (id: string, userValue: unknown = null) => ({
  requestId: id,
  user: userValue,
  tenant: `tenant-of-${id}`,
  secret: 'not-here',
});

const request = (id: string, extra: Array<[Var<unknown>, unknown]> = []) =>
  [[requestId, id], [tenant, `tenant-of-${id}`], ...extra] as Array<[Var<unknown>, unknown]>;

describe.runIf(hasRedisServer)('contextTelemetry, in-process workers', () => {
  const kit = queueKit(redisForFile());
  const telemetry = contextTelemetry();

  it("runs each job in its adder's context; propagate: false values never reach Redis", async () => {
    const name = kit.name('add');
    const queue = kit.queue(name, { telemetry });
    const profile = { id: 7, roles: ['admin'], since: '2026-12-01' };
    const job = await inContext(
      request('r-1', [
        [user, profile],
        [secret, 'hunter2'],
      ]),
      () => queue.add('render', { page: 1 }),
    );
    const worker = kit.worker(name, async (j) => ({ seen: seen(), data: j.data }), { telemetry });
    const [done] = await finished(worker, 1);
    expect(done?.result).toEqual({
      seen: seenIn('r-1', profile),
      data: { page: 1 },
    });
    const stored = await kit.redis().hgetall(jobKey(name, job.id));
    expect(stored.data).toBe('{"page":1}');
    expect(JSON.parse(stored.opts ?? '').tm).toMatch(/^\{"v":/);
    expect(JSON.stringify(stored)).not.toContain('hunter2');
    expect(stored.opts).not.toContain('secret');
  });

  it('gives every job a fresh copy: what one job changes, no other job and no worker sees', async () => {
    const name = kit.name('fresh');
    const queue = kit.queue(name, { telemetry });
    const shared = { count: 0 };
    await inContext(request('r-2', [[user, shared]]), () =>
      queue.addBulk([1, 2, 3, 4].map((n) => ({ name: 'step', data: { n } }))),
    );
    const before = copyContext();
    const worker = kit.worker(
      name,
      async () => {
        const mine = user.get() as { count: number };
        mine.count += 1;
        const was = requestId.get();
        requestId.set('changed');
        await new Promise((resolve) => setImmediate(resolve));
        return { count: mine.count, was, now: requestId.get() };
      },
      { telemetry, concurrency: 2 },
    );
    const results = await finished(worker, 4);
    expect(results.map((r) => r.result)).toEqual(
      Array(4).fill({ count: 1, was: 'r-2', now: 'changed' }),
    );
    expect(shared.count).toBe(0);
    expect(copyContext().get(requestId)).toBe(before.get(requestId));
  });

  it('carries the context of each concurrent adder, through add and addBulk', async () => {
    const name = kit.name('concurrent');
    const queue = kit.queue(name, { telemetry });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        createTask(async () => {
          requestId.set(`r-${i}`);
          await new Promise((resolve) => setImmediate(resolve));
          user.set({ n: i });
          return i % 2 === 0
            ? queue.add('one', { i })
            : queue.addBulk([
                { name: 'bulk-a', data: { i } },
                { name: 'bulk-b', data: { i } },
              ]);
        }),
      ),
    );
    const worker = kit.worker(
      name,
      async (job: Job<{ i: number }>) => ({ i: job.data.i, seen: seen() }),
      { telemetry, concurrency: 10 },
    );
    const results = await finished(worker, 75);
    for (const { result } of results) {
      const { i, seen: got } = result as { i: number; seen: ReturnType<typeof seen> };
      expect(got).toEqual({
        requestId: `r-${i}`,
        user: { n: i },
        tenant: 'no-tenant',
        secret: 'not-here',
      });
    }
  });

  it('carries it to every node of a flow, with or without its own opts', async () => {
    const parents = kit.name('flow-parent');
    const children = kit.name('flow-child');
    const flows = kit.flows({ telemetry });
    const tree = await inContext(request('r-flow'), () =>
      flows.add({
        name: 'report',
        queueName: parents,
        children: [
          { name: 'part', queueName: children, data: { part: 1 } },
          { name: 'part', queueName: children, data: { part: 2 }, opts: { priority: 1 } },
          {
            name: 'section',
            queueName: parents,
            children: [{ name: 'part', queueName: children, data: { part: 3 } }],
          },
        ],
      }),
    );
    const redis = kit.redis();
    const stored = async (node: { job: Job; children?: unknown[] }): Promise<string[]> => {
      const own = (await storedMetadata(redis, node.job.queueName, node.job.id)).opts;
      const below = await Promise.all(
        ((node.children ?? []) as Array<{ job: Job; children?: unknown[] }>).map(stored),
      );
      return [own ?? 'none', ...below.flat()];
    };
    const tms = await stored(tree);
    expect(tms).toHaveLength(5);
    for (const tm of tms) {
      expect(deserializeContext(tm).run(() => requestId.get())).toBe('r-flow');
    }
    const report = async (job: Job) => ({ name: job.name, seen: seen() });
    const parentWorker = kit.worker(parents, report, { telemetry });
    const childWorker = kit.worker(children, report, { telemetry });
    const [parentResults, childResults] = await Promise.all([
      finished(parentWorker, 2),
      finished(childWorker, 3),
    ]);
    for (const { result } of [...parentResults, ...childResults]) {
      expect((result as { seen: unknown }).seen).toEqual(seenIn('r-flow'));
    }
  });

  it('carries the context in which a job scheduler was upserted to each of its jobs', async () => {
    const name = kit.name('scheduler');
    const queue = kit.queue(name, { telemetry });
    await inContext(request('r-schedule'), () =>
      queue.upsertJobScheduler('every-50ms', { every: 50, limit: 3 }, { name: 'tick' }),
    );
    const worker = kit.worker(name, async () => seen(), { telemetry });
    const results = await finished(worker, 3);
    expect(results.map((r) => r.result)).toEqual(Array(3).fill(seenIn('r-schedule')));
  });

  it('runs a job that carries no snapshot, or omits its context, in an empty context', async () => {
    const name = kit.name('empty');
    const plainQueue = kit.queue(name);
    const queue = kit.queue(name, { telemetry });
    await inContext(request('r-plain'), async () => {
      await plainQueue.add('plain', {});
      await queue.add('omitted', {}, { telemetry: { omitContext: true } });
      await queue.addBulk([
        { name: 'omitted-in-bulk', data: {}, opts: { telemetry: { omitContext: true } } },
      ]);
    });
    // The context the Worker was made in must not leak into jobs either.
    const worker = inContext(request('r-worker'), () =>
      kit.worker(
        name,
        async (job) => ({ name: job.name, seen: seen(), size: copyContext().size }),
        {
          telemetry,
        },
      ),
    );
    const results = await finished(worker, 3);
    expect(results.map((r) => r.result)).toEqual(
      ['plain', 'omitted', 'omitted-in-bulk'].map((n) => ({
        name: n,
        seen: { requestId: 'none', user: null, tenant: 'no-tenant', secret: 'not-here' },
        size: 0,
      })),
    );
    const stored = await storedMetadata(kit.redis(), name, results[1]?.job.id);
    expect(stored).toEqual({ opts: undefined, field: null });
  });

  it("gives a job added inside a processor the processor's current context", async () => {
    const first = kit.name('first');
    const second = kit.name('second');
    const next = kit.queue(second, { telemetry });
    kit.queue(first, { telemetry });
    await inContext(request('r-chain'), () => kit.queue(first, { telemetry }).add('start', {}));
    kit.worker(
      first,
      async () => {
        user.set('set-in-processor');
        await next.add('follow-up', {});
      },
      { telemetry },
    );
    const worker = kit.worker(second, async () => seen(), { telemetry });
    const [done] = await finished(worker, 1);
    expect(done?.result).toEqual(seenIn('r-chain', 'set-in-processor'));
  });

  it('runs every attempt in the enqueue-time context, and keeps it in the metadata BullMQ rewrites on failure', async () => {
    const name = kit.name('retries');
    const queue = kit.queue(name, { telemetry });
    const job = await inContext(request('r-retry', [[user, { attempt: 0 }]]), () =>
      queue.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 10 } }),
    );
    const redis = kit.redis();
    const storedAfterFailures: unknown[] = [];
    const worker = kit.worker(
      name,
      async (j) => {
        if (j.attemptsMade > 0) {
          const { field } = await storedMetadata(redis, name, j.id);
          storedAfterFailures.push(deserializeContext(field ?? '').run(seen));
        }
        const attempt = { seen: structuredClone(seen()) };
        requestId.set(`changed-by-attempt-${j.attemptsMade}`);
        (user.get() as { attempt: number }).attempt += 1;
        if (j.attemptsMade < 2) throw new Error(`attempt ${j.attemptsMade} fails`);
        return attempt;
      },
      { telemetry },
    );
    const results = await finished(worker, 3);
    expect(results.map((r) => r.error?.message)).toEqual([
      'attempt 0 fails',
      'attempt 1 fails',
      undefined,
    ]);
    const expected = seenIn('r-retry', { attempt: 0 });
    expect(results[2]?.result).toEqual({ seen: expected });
    expect(storedAfterFailures).toEqual([expected, expected]);
    expect(results[2]?.job.id).toBe(job.id);
  });

  it('refuses to add a job whose context cannot leave the process, and stores nothing', async () => {
    const name = kit.name('unserializable');
    const queue = kit.queue(name, { telemetry });
    const error = await inContext([[user, { onClose: () => {} }]], () =>
      rejectionOf(queue.add('never', {})),
    );
    expect(error).toMatchObject({ code: 'ERR_CONTEXT_SERIALIZE', varName: 'user' });
    expect(await queue.count()).toBe(0);
  });

  it('fails a job whose processor throws synchronously like any failure, in its context', async () => {
    const name = kit.name('sync-throw');
    const queue = kit.queue(name, { telemetry });
    await inContext(request('r-throws'), () => queue.add('throws', {}));
    await inContext(request('r-after'), () => queue.add('after', {}));
    const worker = kit.worker(
      name,
      ((job: Job) => {
        if (job.name === 'throws') throw new Error(`thrown in ${requestId.get()}`);
        return Promise.resolve(requestId.get());
      }) as (job: Job) => Promise<string>,
      { telemetry },
    );
    const [thrown, after] = await finished(worker, 2);
    expect(thrown?.error?.message).toBe('thrown in r-throws');
    expect(after?.result).toBe('r-after');
  });

  it('honours omitContext on a flow node', async () => {
    const name = kit.name('flow-omit');
    const flows = kit.flows({ telemetry });
    await inContext(request('r-flow-omit'), () =>
      flows.add({
        name: 'parent',
        queueName: name,
        children: [
          { name: 'omitted', queueName: name, opts: { telemetry: { omitContext: true } } },
        ],
      }),
    );
    const worker = kit.worker(name, async (job) => [job.name, requestId.get()], { telemetry });
    const results = await finished(worker, 2);
    expect(results.map((r) => r.result)).toEqual([
      ['omitted', 'none'],
      ['parent', 'r-flow-omit'],
    ]);
  });

  it('leaves Workers and FlowProducers with other telemetry, or none, as BullMQ made them', async () => {
    const name = kit.name('untouched');
    await inContext(request('r-other'), () => kit.queue(name, { telemetry }).add('job', {}));
    // A Worker's loop, and with it a plain processor, runs in the context it was made in.
    const worker = inContext(request('r-outer'), () =>
      kit.worker(name, async () => ({ size: copyContext().size, id: requestId.get() })),
    );
    const outer = await finished(worker, 1);
    expect(outer[0]?.result).toEqual({ size: 2, id: 'r-outer' });
  });
});

describe.runIf(hasRedisServer)('contextTelemetry with a key', () => {
  const kit = queueKit(redisForFile());
  const key = 'current-key';
  const signed = contextTelemetry({ key });

  async function refusedBy(
    consumer: ReturnType<typeof contextTelemetry>,
    tamper: (stored: string) => string | null,
    producer = signed,
  ) {
    const name = kit.name('refusal');
    const queue = kit.queue(name, { telemetry: producer });
    const bad = await inContext(request('r-bad'), () => queue.add('bad', {}));
    const redis = kit.redis();
    const tm = (await storedMetadata(redis, name, bad.id)).opts ?? '';
    const replaced = tamper(tm);
    if (replaced !== tm) await replaceMetadata(redis, name, bad.id, replaced ?? undefined);
    await inContext(request('r-good'), () =>
      kit.queue(name, { telemetry: signed }).add('good', {}),
    );
    let ran = 0;
    const worker = kit.worker(
      name,
      async (job) => {
        ran += 1;
        return { name: job.name, id: requestId.get() };
      },
      { telemetry: consumer },
    );
    const results = await finished(worker, 2);
    const failedJob = await queue.getJob(bad.id ?? '');
    return { results, ran, failedReason: failedJob?.failedReason };
  }

  it('runs signed jobs, and accepts any key of a rotation list', async () => {
    const rotated = contextTelemetry({ key: ['next-key', key] });
    const { results, ran } = await refusedBy(rotated, (tm) => tm);
    expect(ran).toBe(2);
    expect(results.map((r) => r.result)).toEqual([
      { name: 'bad', id: 'r-bad' },
      { name: 'good', id: 'r-good' },
    ]);
  });

  it.each([
    ['unsigned', (tm: string) => tm, contextTelemetry()],
    ['forged', (tm: string) => tm.replace('r-bad', 'r-evil'), undefined],
    ['signed with another key', (tm: string) => tm, contextTelemetry({ key: 'other-key' })],
    ['not a snapshot', () => '{"v":1,"f":"j","e":[', undefined],
    ['damaged beside other metadata', () => '{"contextvars":5,"traceparent":"x"}', undefined],
  ] as const)(
    'fails a job whose snapshot is %s on that attempt; the processor never runs, the worker goes on',
    async (_, tamper, producer) => {
      const { results, ran, failedReason } = await refusedBy(signed, tamper, producer ?? signed);
      expect(ran).toBe(1);
      const [refused, good] = results;
      expect(refused?.error).toMatchObject({
        name: 'ContextSerializationError',
        code: 'ERR_CONTEXT_DESERIALIZE',
      });
      expect(failedReason).toMatch(
        /^ERR_CONTEXT_DESERIALIZE: job \S+ of queue 'refusal-\S+' was not run/,
      );
      expect(good?.result).toEqual({ name: 'good', id: 'r-good' });
    },
  );

  it('runs a job that carries no snapshot in an empty context, key or not', async () => {
    const { results, ran } = await refusedBy(signed, () => null);
    expect(ran).toBe(2);
    expect(results[0]?.result).toEqual({ name: 'bad', id: 'none' });
  });

  it('refuses a snapshot older than maxAge, counted from the enqueue (a delay counts)', async () => {
    const name = kit.name('stale');
    const queue = kit.queue(name, { telemetry: signed });
    await inContext(request('r-late'), () => queue.add('late', {}, { delay: 400 }));
    await inContext(request('r-prompt'), () => queue.add('prompt', {}));
    const worker = kit.worker(name, async () => requestId.get(), {
      telemetry: contextTelemetry({ key, maxAge: 200 }),
    });
    const results = await finished(worker, 2);
    expect(results.map((r) => [r.job.name, r.result, r.error?.message.slice(0, 40)])).toEqual([
      ['prompt', 'r-prompt', undefined],
      ['late', undefined, 'ERR_CONTEXT_DESERIALIZE: job 1 of queue '],
    ]);
    expect(results[1]?.error?.message).toContain('older than maxAge (200 ms)');
  });

  it('retries a refused job like any failure', async () => {
    const name = kit.name('refused-retries');
    const queue = kit.queue(name, { telemetry: contextTelemetry() });
    await inContext(request('r-unsigned'), () => queue.add('unsigned', {}, { attempts: 2 }));
    const worker = kit.worker(name, async () => 'ran', { telemetry: signed });
    const results = await finished(worker, 2);
    expect(results.map((r) => (r.error as { code?: string } | undefined)?.code)).toEqual([
      'ERR_CONTEXT_DESERIALIZE',
      'ERR_CONTEXT_DESERIALIZE',
    ]);
    expect(results[1]?.job.attemptsMade).toBe(2);
  });
});

describe('contextTelemetry and withContext options', () => {
  it.each([
    [{ key: '' }, 'ERR_INVALID_ARG_VALUE', /options\.key/],
    [{ key: undefined }, 'ERR_INVALID_ARG_VALUE', /options\.key" argument is undefined/],
    [{ key: [] }, 'ERR_INVALID_ARG_VALUE', /options\.key/],
    [{ maxAge: 10 }, 'ERR_INVALID_ARG_VALUE', /options\.maxAge.*needs options\.key/],
    [{ key: 'k', maxAge: -1 }, 'ERR_OUT_OF_RANGE', /options\.maxAge/],
    [{ inner: {} }, 'ERR_INVALID_ARG_TYPE', /options\.inner/],
    ['key', 'ERR_INVALID_ARG_TYPE', /"options"/],
  ])('refuses %j where it is given', (options, code, message) => {
    let error: unknown;
    try {
      contextTelemetry(options as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ code });
    expect((error as Error).message).toMatch(message);
  });
});
