// withContext for sandboxed processor files, forked and in worker threads,
// on a real Redis; and the processor's arity, which BullMQ reads.
import { describe, expect, it } from 'vitest';
import { ContextVar } from '../../dist/index.js';
import { contextTelemetry, withContext } from '../../dist/integrations/bullmq/index.js';
import { hasRedisServer, redisForFile } from '../support/redis.js';
import { finished, inContext, queueKit, replaceMetadata, storedMetadata } from './support.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const user = new ContextVar<unknown>('user', { default: null });
const tenant = new ContextVar<string>('tenant', { default: 'no-tenant' });
const secret = new ContextVar<string>('secret', { default: 'not-here', propagate: false });

const processorFile = new URL('fixtures/sandboxed.mjs', import.meta.url);
const key = 'sandbox-key';

describe('withContext', () => {
  it("keeps the processor's length and name (BullMQ passes the abort signal by length)", () => {
    const three = withContext(async function render(
      _job: unknown,
      _token?: string,
      _signal?: AbortSignal,
    ) {});
    const one = withContext(async (_job: unknown) => {});
    expect([three.length, three.name, one.length]).toEqual([3, 'render', 1]);
  });

  it('refuses what is not a processor, and bad options, at once', () => {
    expect(() => withContext('processor.js' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => withContext(async () => {}, { maxAge: 5 })).toThrow(/options\.maxAge/);
  });
});

describe.runIf(hasRedisServer)('withContext in sandboxed processors', () => {
  const kit = queueKit(redisForFile());
  const telemetry = contextTelemetry({ key });
  const forkEnv = { ...process.env, CONTEXT_KEY: key };

  describe.each([
    ['forked', { workerForkOptions: { env: forkEnv } }],
    ['in worker threads', { useWorkerThreads: true, workerThreadsOptions: { env: forkEnv } }],
  ] as const)('%s', (_, sandbox) => {
    it("runs each job in its adder's context, with the abort signal", async () => {
      const name = kit.name('sandboxed');
      const queue = kit.queue(name, { telemetry });
      await Promise.all(
        [1, 2, 3, 4].map((n) =>
          inContext(
            [
              [requestId, `r-${n}`],
              [user, { n }],
              [secret, 'hunter2'],
            ],
            () => queue.add('render', { n }),
          ),
        ),
      );
      // The parent Worker has no telemetry: only withContext in the sandbox restores.
      const worker = kit.worker(name, processorFile, { concurrency: 2, ...sandbox });
      const results = await finished(worker, 4);
      for (const { job, result } of results) {
        const n = (job.data as { n: number }).n;
        expect(result).toMatchObject({
          seen: { requestId: `r-${n}`, user: { n }, tenant: 'no-tenant', secret: 'not-here' },
          size: 2,
          signal: true,
        });
      }
      const where = (r: { result?: unknown }) => r.result as { pid: number; threadId: number };
      expect(results.every((r) => where(r).pid !== process.pid || where(r).threadId !== 0)).toBe(
        true,
      );
    });

    it('fails a job whose snapshot was forged, before the processor runs; the sandbox goes on', async () => {
      const name = kit.name('sandbox-forged');
      const queue = kit.queue(name, { telemetry });
      const forged = await inContext([[requestId, 'r-forged']], () => queue.add('forged', {}));
      const redis = kit.redis();
      const tm = (await storedMetadata(redis, name, forged.id)).opts ?? '';
      await replaceMetadata(redis, name, forged.id, tm.replace('r-forged', 'r-evil'));
      await inContext([[requestId, 'r-fine']], () => queue.add('fine', {}));
      const worker = kit.worker(name, processorFile, sandbox);
      const [refused, fine] = await finished(worker, 2);
      expect(refused?.error).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE' });
      expect(refused?.error?.message).toMatch(
        /^ERR_CONTEXT_DESERIALIZE: job \S+ of queue 'sandbox-forged-\S+' was not run/,
      );
      expect((await queue.getJob(forged.id ?? ''))?.failedReason).toBe(refused?.error?.message);
      expect(fine?.result).toMatchObject({ seen: { requestId: 'r-fine' } });
    });

    it("gives a job added inside the sandboxed processor the processor's context", async () => {
      const name = kit.name('sandbox-parent');
      const followUps = kit.name('sandbox-follow-up');
      const queue = kit.queue(name, { telemetry });
      await inContext(
        [
          [requestId, 'r-sandbox'],
          [tenant, 'acme'],
        ],
        () => queue.add('start', { followUp: followUps, socket: kit.connection().path }),
      );
      kit.worker(name, processorFile, sandbox);
      const worker = kit.worker(
        followUps,
        async () => ({ id: requestId.get(), user: user.get(), tenant: tenant.get() }),
        { telemetry },
      );
      const [done] = await finished(worker, 1);
      expect(done?.result).toEqual({ id: 'r-sandbox', user: 'set-in-r-sandbox', tenant: 'acme' });
    });
  });

  it('restores the context for an in-process processor too, with the signal for three parameters', async () => {
    const name = kit.name('in-process-wrapped');
    const queue = kit.queue(name, { telemetry });
    await inContext([[requestId, 'r-wrapped']], () => queue.add('render', {}));
    const worker = kit.worker(
      name,
      withContext(
        async (_job, _token, signal) => ({
          id: requestId.get(),
          signal: signal instanceof AbortSignal,
        }),
        {
          key,
        },
      ),
    );
    const [done] = await finished(worker, 1);
    expect(done?.result).toEqual({ id: 'r-wrapped', signal: true });
  });
});
