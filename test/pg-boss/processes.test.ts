// pg-boss jobs across worker processes on a real PostgreSQL: worker
// processes of their own (fixtures/worker-process.mjs) report what each job
// saw over IPC.
import { type ChildProcess, fork } from 'node:child_process';
import { PgBoss } from 'pg-boss';
import { afterEach, describe, expect, it } from 'vitest';
import { ContextVar, createTask } from '../../dist/index.js';
import { contextJobs } from '../../dist/integrations/pg-boss/index.js';
import { inContext } from '../support/in-context.js';
import { hasPostgres, ON_POSTGRESQL, postgresForFile } from '../support/postgres.js';

const requestId = new ContextVar<string>('request_id', { default: 'none' });
const workerFile = new URL('fixtures/worker-process.mjs', import.meta.url);
const key = 'processes-key';

interface Report {
  id: string;
  seen: string;
  pid: number;
  retryCount: number;
  data: unknown;
}

describe.runIf(hasPostgres)(`pg-boss jobs across worker processes ${ON_POSTGRESQL}`, () => {
  const server = postgresForFile();
  const children: ChildProcess[] = [];
  const reports = new Map<string, Report>();
  const waiting = new Map<string, (report: Report) => void>();
  const bosses: PgBoss[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map(killed));
    await Promise.all(bosses.splice(0).map((boss) => boss.stop({ graceful: false })));
  });

  function killed(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  function onMessage(message: Partial<Report>) {
    if (message.id === undefined) return;
    reports.set(message.id, message as Report);
    waiting.get(message.id)?.(message as Report);
  }
  const outcome = (id: string | null) =>
    reports.has(id ?? '')
      ? Promise.resolve(reports.get(id ?? '') as Report)
      : new Promise<Report>((resolve) => waiting.set(id ?? '', resolve));

  async function workerProcess(queue: string, args: string[] = []): Promise<ChildProcess> {
    const child = fork(workerFile, ['--url', server().url, '--queue', queue, ...args], {
      env: { ...process.env, CONTEXT_KEY: key },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    child.on('message', onMessage);
    await new Promise<void>((resolve, reject) => {
      child.on('message', (message) => message === 'ready' && resolve());
      child.once('exit', (code) => reject(new Error(`worker process exited (${code})`)));
    });
    return child;
  }

  async function sender(queue: string) {
    const boss = contextJobs(
      new PgBoss({
        connectionString: server().url,
        superviseIntervalSeconds: 1,
        monitorIntervalSeconds: 1,
        schedule: false,
      }),
      { key },
    );
    bosses.push(boss);
    await boss.start();
    await boss.createQueue(queue);
    return boss;
  }

  it("runs many concurrent jobs on two processes, each in exactly its sender's context", async () => {
    const boss = await sender('many');
    const workers = await Promise.all([workerProcess('many'), workerProcess('many')]);
    const ids = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        createTask(async () => {
          requestId.set(`r-${i}`);
          await new Promise((resolve) => setImmediate(resolve));
          return boss.send('many', { i });
        }),
      ),
    );
    const seen = await Promise.all(ids.map(outcome));
    seen.forEach((report, i) => {
      expect(report).toMatchObject({ seen: `r-${i}`, data: { i } });
    });
    expect(new Set(seen.map((r) => r.pid))).toEqual(new Set(workers.map((w) => w.pid)));
  });

  it('takes over the job of a worker killed mid-job, in the enqueue-time context', async () => {
    const boss = await sender('killed');
    const doomed = await workerProcess('killed', ['--hold']);
    const holding = new Promise<string>((resolve) =>
      doomed.on('message', (m: { holding?: string }) => m.holding && resolve(m.holding)),
    );
    const held = await inContext([[requestId, 'r-held']], () =>
      boss.send('killed', { hold: true }, { expireInSeconds: 2, retryLimit: 1, retryDelay: 0 }),
    );
    expect(await holding).toBe(held);
    await killed(doomed);
    const survivor = await workerProcess('killed');
    expect(await outcome(held)).toMatchObject({
      seen: 'r-held',
      pid: survivor.pid,
      retryCount: 1,
      data: { hold: true },
    });
  });
});
