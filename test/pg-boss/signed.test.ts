// contextJobs with a key, on PGlite and on a real PostgreSQL: refused
// snapshots fail their job alone, with ERR_CONTEXT_DESERIALIZE in its
// output; the handler never sees them; the worker goes on.
import type { PgBoss, SpyJob } from 'pg-boss';
import { describe, expect, it } from 'vitest';
import { ContextVar, copyContext } from '../../dist/index.js';
import { contextHeaders } from '../../dist/integrations/http/index.js';
import { type contextJobs, contextOf } from '../../dist/integrations/pg-boss/index.js';
import { serializeContext } from '../../dist/serialization/index.js';
import { workInBatches } from '../../examples/jobs/batches.mjs';
import { bossKit, engines, inContext, POLL } from './support.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const key = 'current-key';

/** What a BullMQ producer and a calling service sign with the same key: other uses. */
const bullmqSnapshot = () =>
  inContextSync(() => serializeContext(undefined, { format: 'json', key, use: 'bullmq' }));
const headerSnapshot = () =>
  inContextSync(() => contextHeaders({ header: 'x-context', key })['x-context'] as string);
function inContextSync<R>(fn: () => R): R {
  const ctx = copyContext();
  return ctx.run(() => {
    requestId.set('r-moved');
    return fn();
  });
}

type Kit = ReturnType<typeof bossKit>;

/** Rewrites a stored job's snapshot member. */
async function tamper(kit: Kit, id: string | null, member: (snapshot: string) => unknown) {
  const [row] = await kit.query(
    "SELECT data->'__contextvars'->>'snapshot' AS s FROM pgboss.job WHERE id = $1",
    [id],
  );
  await kit.query(
    "UPDATE pgboss.job SET data = jsonb_set(data, '{__contextvars}', $2::jsonb) WHERE id = $1",
    [id, JSON.stringify(member(String(row?.s)))],
  );
}

/** The jobs `boss` finished on `queue`, each with its state and what it saw or failed with. */
async function outcomes(boss: PgBoss, queue: string, ids: Array<string | null>) {
  const spy = boss.getSpy(queue);
  return Promise.all(
    ids.map((id) =>
      Promise.race([
        spy.waitForJobWithId(id ?? '', 'completed'),
        spy.waitForJobWithId(id ?? '', 'failed'),
      ]),
    ),
  );
}

for (const engine of engines) {
  describe.runIf(engine.available)(`contextJobs with a key ${engine.label}`, () => {
    const kit = bossKit(engine);

    /** A bad job and a good one on one queue; the bad one made by `producer`, then tampered. */
    async function refusedBy(
      consumerOptions: Parameters<typeof contextJobs>[1],
      change: (snapshot: string) => unknown,
      producerOptions: Parameters<typeof contextJobs>[1] = { key },
    ) {
      const producer = await kit.boss(producerOptions);
      const q = await kit.queue(producer, 'refusal');
      const bad = await inContext([[requestId, 'r-bad']], () => producer.send(q, { n: 'bad' }));
      const replaced = change('');
      if (replaced !== '') await tamper(kit, bad, change);
      const signed = await kit.boss({ key });
      const good = await inContext([[requestId, 'r-good']], () => signed.send(q, { n: 'good' }));
      const consumer = await kit.boss(consumerOptions);
      let ran = 0;
      const done = outcomes(consumer, q, [bad, good]);
      await consumer.work(q, POLL, async ([job]) => {
        ran += 1;
        return { n: (job?.data as { n?: string } | undefined)?.n, id: requestId.get() };
      });
      const [refused, accepted] = await done;
      return { refused, accepted, ran };
    }

    it('runs signed jobs, and accepts any key of a rotation list', async () => {
      const { refused, accepted, ran } = await refusedBy({ key: ['next-key', key] }, () => '');
      expect(ran).toBe(2);
      expect([refused?.output, accepted?.output]).toEqual([
        { n: 'bad', id: 'r-bad' },
        { n: 'good', id: 'r-good' },
      ]);
    });

    it.each([
      ['unsigned', () => '', {}],
      ['forged', (s: string) => ({ snapshot: s.replace('r-bad', 'r-evil') }), undefined],
      ['signed with another key', () => '', { key: 'other-key' }],
      ['not a snapshot', () => ({ snapshot: '{"v":1,"f":"j","e":[' }), undefined],
      ['damaged', () => 'not an object', undefined],
      ['signed for another use (pg-boss:tenant-b)', () => '', { key, use: 'tenant-b' }],
      [
        "a BullMQ job's (signed for bullmq), moved in",
        () => ({ snapshot: bullmqSnapshot() }),
        undefined,
      ],
      [
        "a context header's (signed for http:x-context), moved in",
        () => ({ snapshot: headerSnapshot() }),
        undefined,
      ],
    ] as const)(
      'fails a job whose snapshot is %s on that attempt, alone; the handler never sees it',
      async (_, change, producer) => {
        const { refused, accepted, ran } = await refusedBy({ key }, change, producer ?? { key });
        expect(ran).toBe(1);
        expect(refused?.state).toBe('failed');
        expect(refused?.output).toMatchObject({
          name: 'ContextSerializationError',
          code: 'ERR_CONTEXT_DESERIALIZE',
          message: expect.stringMatching(/^ERR_CONTEXT_DESERIALIZE: job \S+ of queue 'refusal-/),
        });
        expect(accepted?.output).toEqual({ n: 'good', id: 'r-good' });
      },
    );

    it('runs a job without a snapshot in an empty context, unless requireSnapshot', async () => {
      const bare = await kit.bare();
      const [lenientQueue, strictQueue] = [
        await kit.queue(bare, 'lenient'),
        await kit.queue(bare, 'strict'),
      ];
      const ids = [await bare.send(lenientQueue, { n: 1 }), await bare.send(strictQueue, { n: 2 })];
      const lenient = await kit.boss({ key });
      const strict = await kit.boss({ key, requireSnapshot: true });
      const done = [
        outcomes(lenient, lenientQueue, ids.slice(0, 1)),
        outcomes(strict, strictQueue, ids.slice(1)),
      ];
      await lenient.work(lenientQueue, POLL, async () => ({ size: copyContext().size }));
      await strict.work(strictQueue, POLL, async () => 'ran');
      const [[ran], [stripped]] = (await Promise.all(done)) as [SpyJob[], SpyJob[]];
      expect(ran?.output).toEqual({ size: 0 });
      expect(stripped).toMatchObject({
        state: 'failed',
        output: {
          code: 'ERR_CONTEXT_DESERIALIZE',
          message: expect.stringMatching(/requireSnapshot/),
        },
      });
    });

    it('refuses a snapshot older than maxAge, counted from the send (a delay counts)', async () => {
      const boss = await kit.boss({ key, maxAge: 1000 });
      const q = await kit.queue(boss, 'stale');
      const late = await inContext([[requestId, 'r-late']], () => boss.sendAfter(q, {}, null, 2));
      const prompt = await inContext([[requestId, 'r-prompt']], () => boss.send(q, {}));
      const done = outcomes(boss, q, [prompt, late]);
      await boss.work(q, POLL, async () => requestId.get());
      const [ran, refused] = await done;
      expect(ran?.output).toBe('r-prompt');
      expect(refused?.output).toMatchObject({
        code: 'ERR_CONTEXT_DESERIALIZE',
        message: expect.stringContaining('older than maxAge (1000 ms)'),
      });
    });

    it('fails a refused job of a larger batch alone and leaves it out; the rest run', async () => {
      const boss = await kit.boss({ key });
      const q = await kit.queue(boss, 'batch-refusal');
      const ids: Array<string | null> = [];
      for (const n of [1, 2, 3]) {
        ids.push(await inContext([[requestId, `r-${n}`]], () => boss.send(q, { n })));
      }
      await tamper(kit, ids[1] ?? null, (s) => ({ snapshot: s.replace('r-2', 'r-evil') }));
      const seen: unknown[] = [];
      const done = outcomes(boss, q, ids);
      await boss.work(q, { ...POLL, batchSize: 3 }, async (jobs) => {
        for (const job of jobs) seen.push([job.data, contextOf(job, { key }).get(requestId)]);
      });
      const states = (await done).map((job) => job?.state);
      expect(states).toEqual(['completed', 'failed', 'completed']);
      expect((await done)[1]?.output).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE' });
      expect(seen.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
        [{ n: 1 }, 'r-1'],
        [{ n: 3 }, 'r-3'],
      ]);
      expect(() => contextOf({ id: ids[1], data: { __contextvars: 5 } }, { key })).toThrow(
        expect.objectContaining({ code: 'ERR_CONTEXT_DESERIALIZE' }),
      );
    });

    it("runs each job of a batch in its own context with the guide's workInBatches", async () => {
      const boss = await kit.boss({ key });
      const q = await kit.queue(boss, 'guide-batches');
      for (const n of [1, 2, 3])
        await inContext([[requestId, `r-${n}`]], () => boss.send(q, { n }));
      const sent: unknown[] = [];
      let done = () => {};
      const all = new Promise<void>((resolve) => {
        done = resolve;
      });
      await workInBatches(boss, q, {
        key,
        send: (data: unknown) => {
          sent.push([data, requestId.get()]);
          if (sent.length === 3) done();
        },
      });
      await all;
      expect(sent.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual([
        [{ n: 1 }, 'r-1'],
        [{ n: 2 }, 'r-2'],
        [{ n: 3 }, 'r-3'],
      ]);
    });
  });
}
