// Jobs across processes, on the server a test file gives (Redis, or
// PostgreSQL through BullMQ's PostgreSQL backend): worker processes of their
// own (see ../fixtures/worker-process.mjs), results read back through
// BullMQ's QueueEvents. Concurrency, flows, retries, a worker killed mid-job,
// tampered metadata, and what is stored.
import { type ChildProcess, fork } from 'node:child_process';
import type { Job } from 'bullmq';
import { afterEach, expect, it } from 'vitest';
import { ContextVar, createTask } from '../../../dist/index.js';
import { contextTelemetry } from '../../../dist/integrations/bullmq/index.js';
import { rejectionOf } from '../../support/errors.js';
import type { QueueServer } from '../stores.js';
import { finished, inContext, queueKit } from '../support.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const user = new ContextVar<unknown>('user', { default: null });
const tenant = new ContextVar<string>('tenant', { default: 'no-tenant' });
const secret = new ContextVar<string>('secret', { default: 'not-here', propagate: false });
// Declared here only: the worker processes receive it without knowing its name.
const featureFlags = new ContextVar<string[]>('feature_flags', { default: [] });

const workerFile = new URL('../fixtures/worker-process.mjs', import.meta.url);
const key = 'processes-key';

interface Report {
  seen: { requestId: string; user: unknown; tenant: string; secret: string };
  pid: number;
  attemptsMade: number;
}

export function jobsAcrossProcesses(server: () => QueueServer): void {
  const kit = queueKit(server);
  const telemetry = contextTelemetry({ key });

  const children: ChildProcess[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map(killed));
  });

  /** Starts a worker process for `queues`; resolves with it once its Workers are ready. */
  async function workerProcess(queues: string[], args: string[] = []): Promise<ChildProcess> {
    const child = fork(
      workerFile,
      [...kit.stored().workerArgs, '--queues', queues.join(','), ...args],
      {
        env: { ...process.env, CONTEXT_KEY: key },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      },
    );
    children.push(child);
    child.on('message', onFinished);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message) => {
        if (message === 'ready') resolve();
      });
      child.once('exit', (code) =>
        reject(new Error(`worker process exited (${code}) before it was ready`)),
      );
    });
    return child;
  }

  function killed(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  // Each worker process reports the jobs it finished (their last attempt)
  // over IPC. (BullMQ 6.7's QueueEvents on its PostgreSQL backend was seen
  // to miss events when two processes finish jobs at once.)
  const settled = new Map<string, { result?: Report; failedReason?: string }>();
  const waiting = new Map<string, () => void>();
  function onFinished(message: { finished?: string; result?: Report; failedReason?: string }) {
    if (message.finished === undefined) return;
    settled.set(message.finished, message);
    waiting.get(message.finished)?.();
  }
  const outcome = async (job: Job): Promise<Report> => {
    const id = `${job.queueName}:${job.id}`;
    if (!settled.has(id)) await new Promise<void>((resolve) => waiting.set(id, resolve));
    const { result, failedReason } = settled.get(id) ?? {};
    if (failedReason !== undefined) throw new Error(failedReason);
    return result as Report;
  };

  it("runs hundreds of concurrent jobs on two processes, each in exactly its adder's context", async () => {
    const name = kit.name('many');
    const workers = await Promise.all([
      workerProcess([name], ['--concurrency', '8']),
      workerProcess([name], ['--concurrency', '8']),
    ]);
    const queue = kit.queue(name, { telemetry });
    const jobs = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        createTask(async () => {
          requestId.set(`r-${i}`);
          user.set({ id: i, roles: i % 2 === 0 ? ['admin'] : [] });
          await new Promise((resolve) => setImmediate(resolve));
          tenant.set(`tenant-${i % 7}`);
          secret.set(`secret-${i}`);
          const job = await queue.add('report', { i });
          return { i, job };
        }),
      ),
    );
    const reports = await Promise.all(jobs.map(({ job }) => outcome(job)));
    reports.forEach((report, i) => {
      expect(report.seen).toEqual({
        requestId: `r-${i}`,
        user: { id: i, roles: i % 2 === 0 ? ['admin'] : [] },
        tenant: `tenant-${i % 7}`,
        secret: 'not-here',
      });
    });
    const pids = new Set(reports.map((r) => r.pid));
    expect(pids).toEqual(new Set(workers.map((w) => w.pid)));
    expect(await queue.getJobCounts('completed', 'failed', 'active', 'wait')).toEqual({
      completed: 400,
      failed: 0,
      active: 0,
      wait: 0,
    });
  });

  it("carries a flow's context to every node, in whichever process runs it", async () => {
    const parents = kit.name('flow-parents');
    const parts = kit.name('flow-parts');
    await Promise.all([workerProcess([parents, parts]), workerProcess([parents, parts])]);
    const flows = kit.flows({ telemetry });
    const trees = await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        inContext(
          [
            [requestId, `r-flow-${id}`],
            [tenant, id],
          ],
          () =>
            flows.add({
              name: 'report',
              queueName: parents,
              children: [
                { name: 'report', queueName: parts },
                { name: 'report', queueName: parts, opts: { attempts: 2 } },
              ],
            }),
        ),
      ),
    );
    for (const [index, tree] of trees.entries()) {
      const id = ['a', 'b', 'c'][index];
      const nodes = [
        outcome(tree.job),
        ...(tree.children ?? []).map((child) => outcome(child.job)),
      ];
      for (const report of await Promise.all(nodes)) {
        expect(report.seen).toMatchObject({ requestId: `r-flow-${id}`, tenant: id });
      }
    }
  });

  it('runs every attempt, in any process, in the enqueue-time context', async () => {
    const name = kit.name('flaky');
    await Promise.all([workerProcess([name]), workerProcess([name])]);
    const queue = kit.queue(name, { telemetry });
    const jobs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        inContext([[requestId, `r-flaky-${i}`]], () =>
          queue.add(
            'flaky',
            { failures: 2 },
            { attempts: 3, backoff: { type: 'fixed', delay: 5 } },
          ),
        ),
      ),
    );
    const reports = await Promise.all(jobs.map((job) => outcome(job)));
    reports.forEach((report, i) => {
      expect(report).toMatchObject({ seen: { requestId: `r-flaky-${i}` }, attemptsMade: 2 });
    });
  });

  it('takes over the job of a worker killed mid-job, in the enqueue-time context, losing nothing', async () => {
    const name = kit.name('killed');
    const fast = ['--lock-duration', '1000', '--stalled-interval', '300'];
    const doomed = await workerProcess([name], [...fast, '--hold']);
    const queue = kit.queue(name, { telemetry });
    const holding = new Promise<string>((resolve) =>
      doomed.on('message', (m: { holding?: string }) => m.holding && resolve(m.holding)),
    );
    const held = await inContext(
      [
        [requestId, 'r-held'],
        [user, { id: 'held' }],
      ],
      () => queue.add('hold', {}),
    );
    expect(await holding).toBe(held.id);
    const others = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        inContext([[requestId, `r-other-${i}`]], () => queue.add('report', {})),
      ),
    );
    await killed(doomed);
    const survivor = await workerProcess([name], [...fast, '--concurrency', '4']);
    const heldReport = await outcome(held);
    expect(heldReport).toMatchObject({
      seen: { requestId: 'r-held', user: { id: 'held' } },
      pid: survivor.pid,
    });
    const otherReports = await Promise.all(others.map((job) => outcome(job)));
    otherReports.forEach((report, i) => {
      expect(report.seen.requestId).toBe(`r-other-${i}`);
    });
    const after = await queue.getJob(held.id ?? '');
    expect(after?.stalledCounter).toBe(1);
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 31, failed: 0 });
  });

  it('refuses tampered metadata in the worker processes, which go on with the rest', async () => {
    const name = kit.name('tampered');
    const queue = kit.queue(name, { telemetry });
    const jobs = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        inContext([[requestId, `r-${i}`]], () => queue.add('report', {})),
      ),
    );
    const store = kit.stored();
    const tampered = new Set([1, 5, 9]);
    for (const i of tampered) {
      const job = jobs[i];
      const tm = (await store.metadata(name, job?.id)) ?? '';
      await store.replaceMetadata(name, job?.id, tm.replace(`r-${i}`, 'r-admin'));
    }
    await Promise.all([workerProcess([name]), workerProcess([name])]);
    const outcomes = await Promise.all(
      jobs.map((job) => outcome(job).catch((error: Error) => error)),
    );
    outcomes.forEach((result, i) => {
      if (tampered.has(i)) {
        expect((result as Error).message).toMatch(/^ERR_CONTEXT_DESERIALIZE: job \d+ of queue/);
      } else {
        expect((result as Report).seen.requestId).toBe(`r-${i}`);
      }
    });
  });

  it('forwards names a worker process does not declare to the jobs it adds', async () => {
    const name = kit.name('forwarding');
    const next = kit.name('forwarded');
    await workerProcess([name]);
    const queue = kit.queue(name, { telemetry });
    await inContext(
      [
        [requestId, 'r-forward'],
        [featureFlags, ['beta', 'dark-mode']],
      ],
      () => queue.add('follow', { next }),
    );
    const worker = kit.worker(
      next,
      async () => ({ id: requestId.get(), flags: featureFlags.get() }),
      {
        telemetry,
      },
    );
    const [done] = await finished(worker, 1);
    expect(done?.error).toBeUndefined();
    expect(done?.result).toEqual({ id: 'r-forward', flags: ['beta', 'dark-mode'] });
  });

  it('fails a job on the worker process for an unsigned snapshot', async () => {
    const name = kit.name('unsigned');
    await workerProcess([name]);
    const job = await inContext([[requestId, 'r-unsigned']], () =>
      kit.queue(name, { telemetry: contextTelemetry() }).add('report', {}),
    );
    const error = await rejectionOf(outcome(job));
    expect((error as Error).message).toMatch(/^ERR_CONTEXT_DESERIALIZE: .*it is not signed/);
  });

  it('stores the data as given and no propagate: false value anywhere; another key is refused', async () => {
    const name = kit.name('stored');
    await workerProcess([name]);
    const queue = kit.queue(name, { telemetry });
    const data = { page: 1, items: ['a', 'b'], nested: { deep: true } };
    const job = await inContext(
      [
        [requestId, 'r-stored'],
        [secret, 'hunter2'],
      ],
      () => queue.add('report', data),
    );
    expect((await outcome(job)).seen).toMatchObject({
      requestId: 'r-stored',
      secret: 'not-here',
    });
    expect((await queue.getJob(job.id ?? ''))?.data).toEqual(data);
    const stored = await kit.stored().storedText();
    expect(stored).toContain('r-stored');
    expect(stored).not.toContain('hunter2');
    const other = kit.queue(name, { telemetry: contextTelemetry({ key: 'other-key' }) });
    const refused = await inContext([[requestId, 'r-other-key']], () => other.add('report', {}));
    const error = await rejectionOf(outcome(refused));
    expect((error as Error).message).toMatch(/^ERR_CONTEXT_DESERIALIZE: .*forged|signature/);
  });
}
