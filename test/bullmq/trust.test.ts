// Trust boundaries of job metadata on a real Redis: a signature bound to its
// use (jobs and headers never stand in for each other, nor queues of
// different uses), damaged metadata never runs unseeded, requireSnapshot,
// and processors that throw something other than an Error.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BullMQOtel } from 'bullmq-otel';
import { afterAll, describe, expect, it } from 'vitest';
import { ContextVar, createTask } from '../../dist/index.js';
import {
  contextOf,
  contextTelemetry,
  inJobContext,
  withContext,
} from '../../dist/integrations/bullmq/index.js';
import { contextHeaders, requestScope } from '../../dist/integrations/http/index.js';
import { codeOf } from '../support/errors.js';
import { hasRedisServer, redisForFile } from '../support/redis.js';
import { signedText } from '../support/signed.js';
import { finished, inContext, queueKit, replaceMetadata, storedMetadata } from './support.js';

const role = new ContextVar<string>('role', { default: 'anonymous' });
const key = 'the key every service shares';
const header = { header: 'x-context', key } as const;

/** Adds one job in a context where `role` is `value`; resolves with the job. */
const addAs = (
  queue: { add(name: string, data: object): Promise<{ id?: string }> },
  value: string,
) => inContext([[role, value]], () => queue.add('work', {}));

/** Runs a worker on `name` until `count` jobs finished: how often the processor ran, and each job's outcome. */
async function runJobs(
  kit: ReturnType<typeof queueKit>,
  name: string,
  telemetry: ReturnType<typeof contextTelemetry>,
  count = 1,
) {
  let ran = 0;
  const worker = kit.worker(
    name,
    async () => {
      ran++;
      return role.get();
    },
    { telemetry },
  );
  const results = await finished(worker, count);
  return { ran, results };
}

describe.runIf(hasRedisServer)('a job signature bound to its use', () => {
  const kit = queueKit(redisForFile());
  const signed = contextTelemetry({ key });

  /** Runs a worker on `name` with `telemetry` until `count` jobs finished; what each saw or why it failed. */
  async function outcomes(name: string, telemetry: ReturnType<typeof contextTelemetry>) {
    const { ran, results } = await runJobs(kit, name, telemetry);
    return {
      ran,
      results: results.map((r) => r.result ?? (r.error as { code?: string } | undefined)?.code),
      errors: results.map((r) => r.error?.message),
    };
  }

  it("a job's metadata is refused as a context header (job to header replay)", async () => {
    const name = kit.name('job-to-header');
    const job = await addAs(kit.queue(name, { telemetry: signed }), 'admin');
    const { opts: tm } = await storedMetadata(kit.redis(), name, job.id);
    const open = requestScope(header);
    const server = createServer((req, res) =>
      open(req, res, (error?: unknown) => {
        res.statusCode = error === undefined ? 200 : 400;
        res.end(error === undefined ? role.get() : (error as Error).message);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    afterAll(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as AddressInfo;
    const answer = await fetch(`http://127.0.0.1:${port}/`, { headers: { 'x-context': tm ?? '' } });
    expect(answer.status).toBe(400);
    expect(await answer.text()).toMatch(/signed for another use.*"http:x-context"/);
  });

  it("a context header written into a job's metadata fails the job (header to job replay)", async () => {
    const name = kit.name('header-to-job');
    const queue = kit.queue(name, { telemetry: signed });
    const guest = await addAs(queue, 'guest');
    const { 'x-context': adminHeader } = await createTask(() => {
      role.set('admin');
      return contextHeaders(header);
    });
    await replaceMetadata(kit.redis(), name, guest.id, adminHeader);
    const { ran, results, errors } = await outcomes(name, signed);
    expect([ran, results]).toEqual([0, ['ERR_CONTEXT_DESERIALIZE']]);
    expect(errors[0]).toMatch(/signed for another use, and this reader expects use "bullmq"/);
  });

  it('a job moved between two queues whose telemetries name different uses is refused', async () => {
    const tenantA = contextTelemetry({ key, use: 'tenant-a' });
    const tenantB = contextTelemetry({ key, use: 'tenant-b' });
    const queueA = kit.name('tenant-a');
    const queueB = kit.name('tenant-b');
    const adminOfB = await addAs(kit.queue(queueB, { telemetry: tenantB }), 'tenant-B-ADMIN');
    const userOfA = await addAs(kit.queue(queueA, { telemetry: tenantA }), 'tenant-A-user');
    const redis = kit.redis();
    const { opts: tmOfB } = await storedMetadata(redis, queueB, adminOfB.id);
    expect(JSON.parse(tmOfB ?? '').u).toBe('bullmq:tenant-b');
    await replaceMetadata(redis, queueA, userOfA.id, tmOfB);
    const { ran, results, errors } = await outcomes(queueA, tenantA);
    expect([ran, results]).toEqual([0, ['ERR_CONTEXT_DESERIALIZE']]);
    expect(errors[0]).toContain('expects use "bullmq:tenant-a"');
    // Its own queue still runs it.
    expect((await outcomes(queueB, tenantB)).results).toEqual(['tenant-B-ADMIN']);
  });

  it('a job moved between two queues of the same use runs (the limit a narrower use removes)', async () => {
    const from = kit.name('same-use-from');
    const to = kit.name('same-use-to');
    const admin = await addAs(kit.queue(from, { telemetry: signed }), 'admin');
    const guest = await addAs(kit.queue(to, { telemetry: signed }), 'guest');
    const redis = kit.redis();
    await replaceMetadata(redis, to, guest.id, (await storedMetadata(redis, from, admin.id)).opts);
    expect((await outcomes(to, signed)).results).toEqual(['admin']);
  });

  it('a signed version-1 snapshot (no use) fails the job, and runs with acceptUnbound', async () => {
    const redis = kit.redis();
    const v1 = signedText(key, { v: 1, t: Date.now(), e: ['role', 0, 'from-v1'] });
    const queueWithV1 = async () => {
      const name = kit.name('v1');
      const job = await addAs(kit.queue(name, { telemetry: signed }), 'replaced');
      await replaceMetadata(redis, name, job.id, v1);
      return name;
    };
    const strict = await outcomes(await queueWithV1(), signed);
    expect(strict.results).toEqual(['ERR_CONTEXT_DESERIALIZE']);
    expect(strict.errors[0]).toMatch(/format version 1.*acceptUnbound/);
    const upgrading = await outcomes(
      await queueWithV1(),
      contextTelemetry({ key, acceptUnbound: true }),
    );
    expect(upgrading.results).toEqual(['from-v1']);
  });

  it('contextTelemetry and withContext refuse a bad use, and a use without a key', () => {
    for (const make of [
      (o: object) => contextTelemetry(o),
      (o: object) => withContext(async () => {}, o),
    ]) {
      expect(codeOf(() => make({ use: 'x' }))).toBe('ERR_INVALID_ARG_VALUE');
      expect(codeOf(() => make({ key, use: '' }))).toBe('ERR_INVALID_ARG_VALUE');
      expect(codeOf(() => make({ key, use: 5 }))).toBe('ERR_INVALID_ARG_TYPE');
      expect(() => make({ key, use: 'x'.repeat(200) })).toThrow(/"options\.use"/);
    }
  });
});

describe.runIf(hasRedisServer)('damaged metadata never runs unseeded', () => {
  const kit = queueKit(redisForFile());
  const signed = contextTelemetry({ key });

  /** Adds a signed job, replaces its stored metadata with `tamper(stored)`, runs it with `consumer`. */
  async function runWithMetadata(
    tamper: (stored: string) => unknown,
    consumer: ReturnType<typeof contextTelemetry>,
  ) {
    const name = kit.name('damaged');
    const queue = kit.queue(name, { telemetry: signed });
    const job = await addAs(queue, 'admin');
    const redis = kit.redis();
    const { opts: stored } = await storedMetadata(redis, name, job.id);
    await replaceMetadata(redis, name, job.id, tamper(stored ?? '') as string);
    const {
      ran,
      results: [done],
    } = await runJobs(kit, name, consumer);
    return {
      ran,
      result: done?.result,
      error: done?.error,
      reason: (await queue.getJob(job.id ?? ''))?.failedReason,
    };
  }

  const traceparent = '{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}';

  it.each([
    ['a number', () => 12345],
    ['an object', () => ({ v: 2, f: 'j', e: [] })],
    ['"garbage"', () => 'garbage'],
    ['a snapshot with a leading space', (stored: string) => ` ${stored}`],
    ['plain bullmq-otel metadata', () => traceparent],
  ])(
    'with a key and no inner, metadata that is %s fails the job like a forged one',
    async (_, tamper) => {
      const { ran, error, reason } = await runWithMetadata(tamper, signed);
      expect(ran).toBe(0);
      expect(error).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE' });
      expect(reason).toMatch(/^ERR_CONTEXT_DESERIALIZE: job \S+ of queue '\S+' was not run/);
      expect(reason).toMatch(/not a context snapshot|other than a snapshot/);
    },
  );

  it('with a key and an inner telemetry, metadata the inner telemetry reads is handed to it', async () => {
    const composed = contextTelemetry({ key, inner: new BullMQOtel() });
    const { ran, result } = await runWithMetadata(() => traceparent, composed);
    expect([ran, result]).toEqual([1, 'anonymous']);
  });

  it('with a key and an inner telemetry, metadata that is not text fails the job', async () => {
    const composed = contextTelemetry({ key, inner: new BullMQOtel() });
    const { ran, error } = await runWithMetadata(() => 12345, composed);
    expect(ran).toBe(0);
    expect(error?.message).toMatch(/only text an inner telemetry reads may be there/);
  });

  it('without a key, metadata that is not ours runs in an empty context, as before', async () => {
    const { ran, result } = await runWithMetadata(() => 'garbage', contextTelemetry());
    expect([ran, result]).toEqual([1, 'anonymous']);
  });
});

describe.runIf(hasRedisServer)('requireSnapshot', () => {
  const kit = queueKit(redisForFile());
  const strict = contextTelemetry({ key, requireSnapshot: true });

  it('fails jobs that carry no snapshot at all; runs those that do', async () => {
    const name = kit.name('required');
    const queue = kit.queue(name, { telemetry: strict });
    await addAs(kit.queue(name), 'no-telemetry');
    await inContext([[role, 'omitted']], () =>
      queue.add('omitted', {}, { telemetry: { omitContext: true } }),
    );
    await addAs(queue, 'carried');
    const { ran, results } = await runJobs(kit, name, strict, 3);
    expect(ran).toBe(1);
    expect(results.map((r) => r.result ?? r.error?.message.match(/requireSnapshot/)?.[0])).toEqual([
      'requireSnapshot',
      'requireSnapshot',
      'carried',
    ]);
    expect(results[0]?.error).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE' });
  });

  it('is accepted by contextTelemetry, withContext, contextOf and inJobContext, with a key only', () => {
    const job = { opts: {} };
    const makers = [
      (o: object) => contextTelemetry(o),
      (o: object) => withContext(async () => {}, o),
      (o: object) => contextOf(job, o),
      (o: object) => inJobContext(() => {}, o),
    ];
    for (const make of makers) {
      expect(codeOf(() => make({ requireSnapshot: true }))).toBe('ERR_INVALID_ARG_VALUE');
      expect(() => make({ requireSnapshot: true })).toThrow(
        /options\.requireSnapshot.*needs options\.key/,
      );
      expect(codeOf(() => make({ key, requireSnapshot: 'yes' }))).toBe('ERR_INVALID_ARG_TYPE');
      expect(() => make({ key, requireSnapshot: false })).not.toThrow();
    }
    expect(codeOf(() => contextOf(job, { key, requireSnapshot: true }))).toBe(
      'ERR_CONTEXT_DESERIALIZE',
    );
  });
});

describe.runIf(hasRedisServer)('a processor that throws something other than an Error', () => {
  const kit = queueKit(redisForFile());
  const telemetry = contextTelemetry();

  it.each([
    ['null', null, /threw null, not an Error/],
    ['undefined', undefined, /threw undefined, not an Error/],
    ['42', 42, /threw the number 42, not an Error/],
    [
      'a plain object',
      { reason: 'quota' },
      /threw a plain object \{"reason":"quota"\}, not an Error/,
    ],
    ['a string', 'boom', /threw the string "boom", not an Error/],
  ])(
    'fails its job with an Error saying what was thrown (%s), and the worker goes on',
    async (_, thrown, message) => {
      const name = kit.name('non-error');
      const queue = kit.queue(name, { telemetry });
      const bad = await queue.add('throws', {});
      await queue.add('after', {});
      const worker = kit.worker(
        name,
        async (job) => {
          if (job.name === 'throws') throw thrown;
          return 'ran';
        },
        { telemetry },
      );
      const [failed, after] = await finished(worker, 2);
      expect(failed?.error).toBeInstanceOf(Error);
      expect(failed?.error).toMatchObject({
        code: 'ERR_NON_ERROR_THROWN',
        message: expect.stringMatching(message),
      });
      expect(failed?.error?.message).toContain(`job ${bad.id} of queue '${name}'`);
      expect(after?.result).toBe('ran');
      const stored = await queue.getJob(bad.id ?? '');
      expect([await stored?.getState(), stored?.failedReason]).toEqual([
        'failed',
        expect.stringMatching(message),
      ]);
    },
  );

  it('a synchronous throw of null fails the job too', async () => {
    const name = kit.name('sync-null');
    const queue = kit.queue(name, { telemetry });
    await queue.add('throws', {});
    const worker = kit.worker(
      name,
      (() => {
        throw null;
      }) as never,
      { telemetry },
    );
    const [failed] = await finished(worker, 1);
    expect(failed?.error?.message).toMatch(/threw null, not an Error/);
  });
});
