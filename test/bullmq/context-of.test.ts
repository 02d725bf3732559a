// A job's context outside its processor, on a real Redis: contextOf(job)
// and inJobContext(listener) give Worker event listeners and code holding a
// fetched job the enqueue-time context, judged as the processor judges it.
import type { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { Context, ContextVar } from '../../dist/index.js';
import { contextOf, contextTelemetry, inJobContext } from '../../dist/integrations/bullmq/index.js';
import { serializeContext } from '../../dist/serialization/index.js';
import { codeOf, thrownBy } from '../support/errors.js';
import { hasRedisServer, redisForFile } from '../support/redis.js';
import { finished, inContext, queueKit, replaceMetadata } from './support.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const key = 'listener-key';
const options = { key } as const;

describe.runIf(hasRedisServer)('contextOf and inJobContext', () => {
  const kit = queueKit(redisForFile());
  const telemetry = contextTelemetry(options);

  it('give completed, failed and progress listeners the enqueue-time context (first attempt fails, retry succeeds)', async () => {
    const name = kit.name('events');
    const queue = kit.queue(name, { telemetry });
    await inContext([[requestId, 'r-events']], () =>
      queue.add('flaky', {}, { attempts: 2, backoff: { type: 'fixed', delay: 10 } }),
    );
    const worker = kit.worker(
      name,
      async (job) => {
        requestId.set('changed-in-processor');
        await job.updateProgress(50);
        if (job.attemptsMade === 0) throw new Error('first attempt fails');
        return 'done';
      },
      { telemetry },
    );
    const seen: Array<[string, string, string]> = [];
    worker.on('progress', (job) => {
      seen.push(['progress', 'contextOf', contextOf(job, options).run(() => requestId.get())]);
    });
    worker.on(
      'progress',
      inJobContext(() => seen.push(['progress', 'inJobContext', requestId.get()]), options),
    );
    worker.on(
      'failed',
      inJobContext((job, error) => {
        seen.push(['failed', `${job?.attemptsMade}: ${error.message}`, requestId.get()]);
      }, options),
    );
    worker.on('failed', (job) => {
      seen.push([
        'failed',
        'contextOf',
        job ? contextOf(job, options).run(() => requestId.get()) : '',
      ]);
    });
    worker.on(
      'completed',
      inJobContext(
        (_job, result) => seen.push(['completed', String(result), requestId.get()]),
        options,
      ),
    );
    // Outside any listener: what BullMQ itself runs them in.
    worker.on('completed', () => seen.push(['completed', 'bare', requestId.get()]));
    await finished(worker, 2);
    expect(seen).toEqual([
      ['progress', 'contextOf', 'r-events'],
      ['progress', 'inJobContext', 'r-events'],
      ['failed', '1: first attempt fails', 'r-events'],
      ['failed', 'contextOf', 'r-events'],
      ['progress', 'contextOf', 'r-events'],
      ['progress', 'inJobContext', 'r-events'],
      ['completed', 'done', 'r-events'],
      ['completed', 'bare', 'none'],
    ]);
  });

  it('gives a job fetched with queue.getJob() its enqueue-time context; each call a new Context', async () => {
    const name = kit.name('get-job');
    const queue = kit.queue(name, { telemetry });
    const added = await inContext([[requestId, 'r-fetched']], () => queue.add('later', {}));
    const job = (await queue.getJob(added.id ?? '')) as Job;
    const first = contextOf(job, options);
    expect(first).toBeInstanceOf(Context);
    expect(first.run(() => requestId.get())).toBe('r-fetched');
    first.run(() => requestId.set('changed'));
    expect(contextOf(job, options).run(() => requestId.get())).toBe('r-fetched');
  });

  it('gives an empty context for a job that carries no snapshot', async () => {
    const name = kit.name('no-snapshot');
    const added = await inContext([[requestId, 'r-plain']], () => kit.queue(name).add('plain', {}));
    const job = (await kit.queue(name).getJob(added.id ?? '')) as Job;
    const ctx = contextOf(job, options);
    expect([ctx.size, ctx.run(() => requestId.get())]).toEqual([0, 'none']);
  });

  it('refuses a snapshot signed with another key, or damaged, with ERR_CONTEXT_DESERIALIZE', async () => {
    const name = kit.name('refused');
    const queue = kit.queue(name, { telemetry: contextTelemetry({ key: 'another key' }) });
    const added = await inContext([[requestId, 'r-other']], () => queue.add('job', {}));
    const job = (await queue.getJob(added.id ?? '')) as Job;
    const error = thrownBy(() => contextOf(job, options)) as Error;
    expect(error).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE' });
    expect(error.message).toMatch(/context of job \S+ of queue '\S+' was refused.*signature/);
    // The other key reads it.
    expect(contextOf(job, { key: 'another key' }).run(() => requestId.get())).toBe('r-other');
    await replaceMetadata(kit.redis(), name, added.id, 'garbage');
    const damaged = (await queue.getJob(added.id ?? '')) as Job;
    expect(codeOf(() => contextOf(damaged, options))).toBe('ERR_CONTEXT_DESERIALIZE');
  });

  it('inJobContext never throws for a bad snapshot or a missing job: the listener runs in an empty context', async () => {
    const name = kit.name('never-throws');
    const queue = kit.queue(name, { telemetry: contextTelemetry({ key: 'another key' }) });
    const added = await inContext([[requestId, 'r-forged']], () => queue.add('job', {}));
    const forged = (await queue.getJob(added.id ?? '')) as Job;
    const seen: unknown[] = [];
    const listener = inJobContext(
      function (this: unknown, job: Job | undefined, error: Error) {
        seen.push([this, job?.id, error.message, requestId.get(), new Context().size]);
      },
      { key, requireSnapshot: true },
    );
    const self = { worker: true };
    expect(() => listener.call(self, forged, new Error('e1'))).not.toThrow();
    expect(() => listener.call(self, undefined, new Error('e2'))).not.toThrow();
    expect(() =>
      listener.call(self, { opts: { telemetry: { metadata: 12345 } } } as never, new Error('e3')),
    ).not.toThrow();
    expect(seen).toEqual([
      [self, added.id, 'e1', 'none', 0],
      [self, undefined, 'e2', 'none', 0],
      [self, undefined, 'e3', 'none', 0],
    ]);
  });
});

describe('contextOf and inJobContext arguments', () => {
  it('contextOf refuses what is not a job, and bad options, with coded errors', () => {
    expect(codeOf(() => contextOf(undefined as never))).toBe('ERR_INVALID_ARG_TYPE');
    expect(codeOf(() => contextOf({ opts: {} }, { maxAge: 5 }))).toBe('ERR_INVALID_ARG_VALUE');
    expect(contextOf({ opts: {} }).size).toBe(0);
    expect(codeOf(() => contextOf({ opts: {} }, { inner: {} as never }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
    expect(codeOf(() => inJobContext(() => {}, { inner: 5 as never }))).toBe(
      'ERR_INVALID_ARG_TYPE',
    );
  });

  it('inJobContext refuses what is not a listener, and keeps its length and name', () => {
    expect(codeOf(() => inJobContext('listener' as never))).toBe('ERR_INVALID_ARG_TYPE');
    const wrapped = inJobContext(function onFailed(_job: unknown, _error: Error) {});
    expect([wrapped.length, wrapped.name]).toEqual([2, 'onFailed']);
  });

  it('a listener runs in the job context also for a job from a sandboxed processor (plain JSON)', () => {
    // Alone in the metadata slot, the snapshot is the metadata.
    const snapshot = inContext([[requestId, 'r-plain-json']], () =>
      serializeContext(undefined, { format: 'json' }),
    );
    const plainJob = JSON.parse(
      JSON.stringify({ id: '1', opts: { telemetry: { metadata: snapshot } } }),
    );
    expect(inJobContext((_job: unknown) => requestId.get())(plainJob)).toBe('r-plain-json');
  });
});
