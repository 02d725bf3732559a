// contextJobs on pg-boss, on PGlite and on a real PostgreSQL: what each job
// carries, what its handler sees, and on which attempts.
import { describe, expect, it } from 'vitest';
import { ContextVar, copyContext, createTask } from '../../dist/index.js';
import { contextOf } from '../../dist/integrations/pg-boss/index.js';
import { rejectionOf } from '../support/errors.js';
import { bossKit, engines, inContext, POLL, storedData } from './support.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const user = new ContextVar<unknown>('user', { default: null });
const secret = new ContextVar<string>('secret', { default: 'not-here', propagate: false });

interface Seen {
  id: string;
  data: unknown;
}

/** Collects what handlers report; `all` settles once `count` reports arrived. */
function reports<T>(count: number) {
  const list: T[] = [];
  let settle: (list: T[]) => void = () => {};
  const all = new Promise<T[]>((resolve) => {
    settle = resolve;
  });
  return {
    all,
    add(report: T) {
      list.push(report);
      if (list.length === count) settle(list);
    },
  };
}

const seen = (data: unknown): Seen => ({ id: requestId.get(), data });
const byId = (a: Seen, b: Seen) =>
  `${a.id}${JSON.stringify(a.data)}`.localeCompare(`${b.id}${JSON.stringify(b.data)}`);

for (const engine of engines) {
  describe.runIf(engine.available)(`contextJobs ${engine.label}`, () => {
    const kit = bossKit(engine);

    it("carries the caller's context through every method that creates jobs; handlers get the data as sent", async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'creating');
      await boss.subscribe('report-requested', q);
      const as = <T>(id: string, send: () => Promise<T>) =>
        inContext(
          [
            [requestId, id],
            [secret, `hunter2-${id}`],
          ],
          send,
        );
      await as('send', () => boss.send(q, { page: 1 }));
      await as('send-request', () => boss.send({ name: q, data: { page: 2 } }));
      await as('send-no-data', () => boss.send(q));
      await as('send-null', () => boss.send(q, null));
      await as('send-empty', () => boss.send(q, {}));
      await as('send-after', () => boss.sendAfter(q, { n: 1 }, null, new Date()));
      await as('throttled', () => boss.sendThrottled(q, { n: 2 }, null, 1, 't'));
      await as('debounced', () => boss.sendDebounced(q, { n: 3 }, null, 1, 'd'));
      await as('insert', () => boss.insert(q, [{ data: { n: 4 } }, {}]));
      await as('upsert', () => boss.upsert(q, { n: 5 }, { singletonKey: 'u' }));
      await as('flow', () =>
        boss.flow([
          { ref: 'a', name: q, data: { n: 6 } },
          { ref: 'b', name: q, data: { n: 8 }, dependsOn: ['a'] },
        ]),
      );
      await as('publish', () => boss.publish('report-requested', { n: 7 }));
      const done = reports<Seen>(14);
      await boss.work(q, POLL, async ([job]) => done.add(seen(job?.data)));
      expect((await done.all).sort(byId)).toEqual(
        [
          { id: 'debounced', data: { n: 3 } },
          { id: 'flow', data: { n: 6 } },
          { id: 'flow', data: { n: 8 } },
          { id: 'insert', data: null },
          { id: 'insert', data: { n: 4 } },
          { id: 'publish', data: { n: 7 } },
          { id: 'send', data: { page: 1 } },
          { id: 'send-after', data: { n: 1 } },
          { id: 'send-empty', data: {} },
          { id: 'send-no-data', data: null },
          { id: 'send-null', data: null },
          { id: 'send-request', data: { page: 2 } },
          { id: 'throttled', data: { n: 2 } },
          { id: 'upsert', data: { n: 5 } },
        ].sort(byId),
      );
      const stored = await kit.storedText();
      expect(stored).toContain('__contextvars');
      expect(stored).not.toContain('hunter2');
      expect(stored).not.toContain('secret');
    });

    it('stores the data as sent beside the snapshot, and leaves the caller’s object alone', async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'stored');
      const data = { page: 1, nested: { list: [1, 'two', null] } };
      const id = await inContext([[requestId, 'r-stored']], () => boss.send(q, data));
      expect(data).toEqual({ page: 1, nested: { list: [1, 'two', null] } });
      const stored = (await storedData(kit, id)) as Record<string, unknown>;
      expect(Object.keys(stored)).toEqual(['page', 'nested', '__contextvars']);
      expect(stored).toMatchObject(data);
      expect(stored.__contextvars).toEqual({ snapshot: expect.stringMatching(/^\{"v":/) });
      const nullId = await boss.send(q, null);
      expect(await storedData(kit, nullId)).toEqual({
        __contextvars: { snapshot: expect.any(String), data: null },
      });
    });

    it('gives every job a fresh copy: what one job changes, no other job and no worker sees', async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'fresh');
      const shared = { count: 0 };
      await inContext(
        [
          [requestId, 'r-fresh'],
          [user, shared],
        ],
        () =>
          boss.insert(
            q,
            [1, 2, 3, 4].map((n) => ({ data: { n } })),
          ),
      );
      const before = copyContext();
      const done = reports<unknown>(4);
      await inContext([[requestId, 'r-worker']], () =>
        boss.work(q, { ...POLL, localConcurrency: 2 }, async () => {
          const mine = user.get() as { count: number };
          mine.count += 1;
          const was = requestId.get();
          requestId.set('changed');
          await new Promise((resolve) => setImmediate(resolve));
          done.add({ count: mine.count, was, now: requestId.get() });
        }),
      );
      expect(await done.all).toEqual(Array(4).fill({ count: 1, was: 'r-fresh', now: 'changed' }));
      expect(shared.count).toBe(0);
      expect(copyContext().get(requestId)).toBe(before.get(requestId));
    });

    it('carries the context of each of many concurrent senders', async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'concurrent');
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          createTask(async () => {
            requestId.set(`r-${i}`);
            await new Promise((resolve) => setImmediate(resolve));
            user.set({ n: i });
            return boss.send(q, { i });
          }),
        ),
      );
      const done = reports<{ i: number; id: string; user: unknown }>(40);
      await boss.work(q, { ...POLL, localConcurrency: 4 }, async ([job]) => {
        const { i } = (job?.data ?? {}) as { i: number };
        done.add({ i, id: requestId.get(), user: user.get() });
      });
      for (const report of await done.all) {
        expect(report).toEqual({ i: report.i, id: `r-${report.i}`, user: { n: report.i } });
      }
    });

    it('runs every attempt in the enqueue-time context: retries, and a job that expired and was claimed again', async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'attempts');
      await inContext(
        [
          [requestId, 'r-retried'],
          [user, { attempt: 0 }],
        ],
        () => boss.send(q, { kind: 'failing' }, { retryLimit: 2, retryDelay: 0 }),
      );
      await inContext([[requestId, 'r-expired']], () =>
        boss.send(q, { kind: 'expiring' }, { retryLimit: 1, retryDelay: 0, expireInSeconds: 1 }),
      );
      const attempts = reports<[string, number, string, unknown]>(5);
      await boss.work(q, POLL, async ([job]) => {
        if (job === undefined) return;
        const { kind } = job.data as { kind: string };
        attempts.add([kind, job.retryCount, requestId.get(), structuredClone(user.get())]);
        requestId.set(`changed-by-attempt-${job.retryCount}`);
        const profile = user.get() as { attempt: number } | null;
        if (profile !== null) profile.attempt += 1;
        if (kind === 'failing' && job.retryCount < 2) throw new Error('fails');
        if (kind === 'expiring' && job.retryCount === 0) {
          // Outlives expireInSeconds: pg-boss fails the attempt and aborts the signal.
          await new Promise((resolve) => job.signal.addEventListener('abort', resolve));
        }
      });
      const sorted = (await attempts.all).sort((a, b) =>
        `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`),
      );
      expect(sorted).toEqual([
        ['expiring', 0, 'r-expired', null],
        ['expiring', 1, 'r-expired', null],
        ['failing', 0, 'r-retried', { attempt: 0 }],
        ['failing', 1, 'r-retried', { attempt: 0 }],
        ['failing', 2, 'r-retried', { attempt: 0 }],
      ]);
    });

    it('gives scheduled jobs the context of the schedule() call', async () => {
      const boss = await kit.boss(undefined, {
        schedule: true,
        cronMonitorIntervalSeconds: 1,
        cronWorkerIntervalSeconds: 1,
      });
      const q = await kit.queue(boss, 'scheduled');
      await inContext([[requestId, 'r-schedule']], () =>
        boss.schedule(q, '* * * * * *', { report: 'daily' }),
      );
      expect((await boss.getSchedule(q))?.data).toEqual({ report: 'daily' });
      expect((await boss.getSchedules(q)).map((s) => s.data)).toEqual([{ report: 'daily' }]);
      const done = reports<Seen>(1);
      await inContext([[requestId, 'r-worker']], () =>
        boss.work(q, POLL, async ([job]) => done.add(seen(job?.data))),
      );
      expect(await done.all).toEqual([{ id: 'r-schedule', data: { report: 'daily' } }]);
      await boss.unschedule(q);
    });

    it("update keeps each job's context; upsert keeps an existing job's and gives a new job the caller's", async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'updates');
      const later = { startAfter: 3600 };
      const a = await inContext([[requestId, 'r-a']], () =>
        boss.send(q, { v: 'a' }, { ...later, singletonKey: 'k-a' }),
      );
      await inContext([[requestId, 'r-b1']], () =>
        boss.send(q, { v: 'b1' }, { ...later, singletonKey: 'k-b' }),
      );
      await inContext([[requestId, 'r-b2']], () =>
        boss.send(q, { v: 'b2' }, { ...later, singletonKey: 'k-b' }),
      );
      const updates = await inContext([[requestId, 'r-updater']], async () => [
        await boss.update(q, { v: 'a, updated' }, { id: a ?? '' }),
        await boss.update(q, null, { singletonKey: 'k-b', match: 'all' }),
        await boss.upsert(q, { v: 'a, upserted' }, { singletonKey: 'k-a' }),
        await boss.upsert(q, { v: 'c' }, { singletonKey: 'k-c', startAfter: 3600 }),
      ]);
      expect(updates.map((u) => u.jobs.length)).toEqual([1, 2, 1, 1]);
      expect(updates[3]).toMatchObject({ inserted: 1, updated: 0 });
      for (const key of ['k-a', 'k-b', 'k-c']) {
        await boss.update(q, undefined, { singletonKey: key, match: 'all', startAfter: 0 });
      }
      const done = reports<Seen>(4);
      await boss.work(q, POLL, async ([job]) => done.add(seen(job?.data)));
      expect((await done.all).sort(byId)).toEqual([
        { id: 'r-a', data: { v: 'a, upserted' } },
        { id: 'r-b1', data: null },
        { id: 'r-b2', data: null },
        { id: 'r-updater', data: { v: 'c' } },
      ]);
    });

    it("update given a job's own options (singletonKey: null) keeps its context, and never takes the reserved member from data", async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'job-options');
      const id = await inContext([[requestId, 'r-sent']], () =>
        boss.send(q, { n: 1 }, { startAfter: 3600 }),
      );
      const job = await boss.getJobById(q, id ?? '');
      const options = { id: id ?? '', singletonKey: job?.singletonKey ?? null };
      expect(options.singletonKey).toBeNull();
      await inContext([[requestId, 'r-updater']], () =>
        boss.update(q, { n: 2 }, options as { id: string }),
      );
      const smuggled = { n: 3, __contextvars: { snapshot: '{"v":2,"f":"j","e":[]}' } };
      await expect(boss.update(q, smuggled, options as { id: string })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_VALUE',
      });
      await boss.update(q, undefined, { id: id ?? '', startAfter: 0 });
      const done = reports<Seen>(1);
      await boss.work(q, POLL, async ([handed]) => done.add(seen(handed?.data)));
      expect(await done.all).toEqual([{ id: 'r-sent', data: { n: 2 } }]);
    });

    it('update by singletonKey reaches every queued job of the key, past the first 1,000 (newest, all)', async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'many');
      const later = { startAfter: 3600, singletonKey: 'k' };
      await inContext([[requestId, 'r-old']], () =>
        boss.insert(
          q,
          Array.from({ length: 1000 }, (_, n) => ({ data: { n }, ...later })),
        ),
      );
      const newest = await inContext([[requestId, 'r-new']], () =>
        boss.send(q, { n: 1000 }, later),
      );
      const [updatedNewest] = (await boss.update(q, { n: 'newest' }, { singletonKey: 'k' })).jobs;
      expect(updatedNewest).toBe(newest);
      expect((await boss.getJobById(q, newest ?? ''))?.data).toEqual({ n: 'newest' });
      expect(contextOf((await boss.getJobById(q, newest ?? '')) ?? {}).get(requestId)).toBe(
        'r-new',
      );
      const all = await boss.update(q, { n: 'all' }, { singletonKey: 'k', match: 'all' });
      expect(all.updated).toBe(1001);
    });

    it('refuses data with a toJSON of its own at send: it would decide what pg-boss stores, snapshot included', async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'tojson');
      const data = { order: 7, toJSON: () => ({ order: 7 }) };
      await expect(boss.send(q, data)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
    });

    it('fetch, getJobById and findJobs hand jobs out as sent; contextOf gives their context', async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'handed');
      const id = await inContext([[requestId, 'r-handed']], () => boss.send(q, { n: 1 }));
      const plainId = await (await kit.bare()).send(q, { n: 2 });
      const [found, plain] = [
        await boss.getJobById(q, id ?? ''),
        await boss.getJobById(q, plainId ?? ''),
      ];
      expect([found?.data, plain?.data]).toEqual([{ n: 1 }, { n: 2 }]);
      expect(contextOf(found ?? {}).get(requestId)).toBe('r-handed');
      expect(contextOf(plain ?? {}).size).toBe(0);
      const listed = await boss.findJobs(q);
      expect(listed.map((job) => job.data)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(contextOf(listed[0] ?? {}).run(() => requestId.get())).toBe('r-handed');
      // A job read straight from the table still carries the member.
      const [raw] = await kit.query('SELECT id, name, data FROM pgboss.job WHERE id = $1', [id]);
      expect(contextOf(raw ?? {}).get(requestId)).toBe('r-handed');
      const fetched = await boss.fetch(q, { batchSize: 2 });
      const pairs = fetched.map((job) => [job.data, contextOf(job).get(requestId, 'none')]);
      expect(pairs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
        [{ n: 1 }, 'r-handed'],
        [{ n: 2 }, 'none'],
      ]);
    });

    it("runs a larger batch in an empty context, with each job's own through contextOf", async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'batch');
      for (const n of [1, 2, 3]) {
        await inContext([[requestId, `r-${n}`]], () => boss.send(q, { n }));
      }
      const done = reports<unknown>(1);
      await inContext([[requestId, 'r-worker']], () =>
        boss.work(q, { ...POLL, batchSize: 3 }, async (jobs) => {
          done.add({
            handler: requestId.get(),
            size: copyContext().size,
            jobs: jobs
              .map((job) => [job.data, contextOf(job).get(requestId)])
              .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
          });
        }),
      );
      expect(await done.all).toEqual([
        {
          handler: 'none',
          size: 0,
          jobs: [
            [{ n: 1 }, 'r-1'],
            [{ n: 2 }, 'r-2'],
            [{ n: 3 }, 'r-3'],
          ],
        },
      ]);
    });

    it('refuses data that cannot carry the snapshot, and a context that cannot leave, storing nothing', async () => {
      const boss = await kit.boss();
      const q = await kit.queue(boss, 'refused');
      const refusals = [
        await rejectionOf(boss.send(q, [1, 2] as never)),
        await rejectionOf(boss.send(q, new Date() as never)),
        await rejectionOf(boss.send({ name: q, data: 'text' as never })),
        await rejectionOf(boss.insert(q, [{ data: {} }, { data: new Map() as never }])),
        await rejectionOf(boss.send(q, { __contextvars: 'mine' })),
        await rejectionOf(boss.schedule(q, '* * * * *', { __contextvars: 1 })),
        await inContext([[user, { close: () => {} }]], () => rejectionOf(boss.send(q, {}))),
      ];
      expect(refusals.map((e) => (e as { code?: string }).code)).toEqual([
        'ERR_INVALID_ARG_TYPE',
        'ERR_INVALID_ARG_TYPE',
        'ERR_INVALID_ARG_TYPE',
        'ERR_INVALID_ARG_TYPE',
        'ERR_INVALID_ARG_VALUE',
        'ERR_INVALID_ARG_VALUE',
        'ERR_CONTEXT_SERIALIZE',
      ]);
      expect((refusals[2] as Error).message).toMatch(/"request\.data" argument/);
      expect((refusals[3] as Error).message).toMatch(/"jobs\[1\]\.data" argument/);
      expect((refusals[4] as Error).message).toMatch(/reserves/);
      expect(await boss.findJobs(q)).toEqual([]);
    });
  });
}
