// `npm run example:queue`: starts a private Redis, two worker processes and the
// HTTP server, sends concurrent requests that each enqueue a report job, and
// checks that every job ran, and logged, in the context of its own request.
// `--trace` adds OpenTelemetry and prints the trace of one request.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { QueueEvents } from 'bullmq';
import { GET_REDIS, hasRedisServer, startRedis } from './redis.mjs';
import { startServer } from './server.mjs';
import { startTracing, traceTree } from './tracing.mjs';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '32' },
    trace: { type: 'boolean', default: false },
  },
});
const total = Number(args.requests);

if (!hasRedisServer()) {
  console.error(
    `This example needs Redis: ${GET_REDIS}, then run \`npm run example:queue\` again.`,
  );
  process.exit(1);
}
const redis = await startRedis();
const connection = { path: redis.path };
// The context travels signed: workers refuse snapshots they cannot verify.
const key = randomBytes(32).toString('base64');
const spans = [];
const tracing = args.trace ? startTracing('server', (span) => spans.push(span)) : undefined;

// Two worker processes; every line they log is kept, with the worker's number.
const logs = [];
function startWorker(number) {
  const child = fork(
    new URL('./worker.mjs', import.meta.url),
    ['--socket', redis.path, ...(args.trace ? ['--trace'] : [])],
    {
      env: { ...process.env, CONTEXT_KEY: key },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    },
  );
  createInterface({ input: child.stdout }).on('line', (line) =>
    logs.push({ worker: number, line }),
  );
  child.on('message', (message) => message.span && spans.push(message.span));
  return new Promise((resolve) => child.on('message', (m) => m === 'ready' && resolve(child)));
}
const workers = await Promise.all([startWorker(1), startWorker(2)]);
const events = new QueueEvents('reports', { connection });
await events.waitUntilReady();
// A job may complete before its HTTP response is read: keep what completes early.
const completed = new Map();
const waiting = new Map();
events.on('completed', ({ jobId, returnvalue }) => {
  const resolve = waiting.get(jobId);
  if (resolve) resolve(returnvalue);
  else completed.set(jobId, returnvalue);
});
const outcome = (jobId) =>
  completed.has(jobId)
    ? Promise.resolve(completed.get(jobId))
    : new Promise((resolve) => waiting.set(jobId, resolve));

const server = await startServer({ connection, key, tracing });
function post(i) {
  const headers = { 'x-user': `user-${i % 13}`, 'x-tenant': ['acme', 'globex', 'initech'][i % 3] };
  // Half the requests bring their own id; the server makes one for the rest.
  if (i % 2 === 0) headers['x-request-id'] = `req-${i}`;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${server.url}/reports?report=${['sales', 'stock', 'churn'][i % 3]}`,
      { method: 'POST', headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve(JSON.parse(body)));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const started = performance.now();
const jobs = [];
let next = 0;
async function client() {
  while (next < total) {
    const { requestId, jobId } = await post(next++);
    jobs.push({ requestId, jobId, result: outcome(jobId) });
  }
}
await Promise.all(Array.from({ length: Number(args.concurrency) }, client));
const results = await Promise.all(jobs.map((job) => job.result));
const seconds = (performance.now() - started) / 1000;

await server.close();
await events.close();
// Workers stop after their Workers closed and every span they ended was sent.
await Promise.all(
  workers.map(
    (child) =>
      new Promise((resolve) => {
        child.on('message', (m) => m === 'stopped' && resolve());
        child.send('stop');
      }),
  ),
);
await redis.stop();

const ranInContext = jobs.filter((job, i) => results[i].requestId === job.requestId).length;
const logged = jobs.filter((job) =>
  logs.some((log) => log.line.startsWith(`[request ${job.requestId}] `)),
).length;
console.log('Sample log lines from the worker processes:');
for (const log of logs.slice(0, 3)) console.log(`  worker ${log.worker}: ${log.line}`);
console.table({
  'requests (each enqueued a job)': { value: total },
  'jobs rendered by worker 1': { value: logs.filter((l) => l.worker === 1).length },
  'jobs rendered by worker 2': { value: logs.filter((l) => l.worker === 2).length },
  'jobs that ran in their request context': { value: ranInContext },
  'log lines naming their request': { value: logged },
  'jobs/s (request to rendered)': { value: Math.round(total / seconds) },
});
if (tracing) {
  const first = spans.find((s) => s.name === 'POST /reports');
  console.log(
    `\nThe trace of one request (${first?.traceId}):\n${traceTree(spans, first?.traceId)}`,
  );
}
const ok = ranInContext === total && logged === total && logs.length === total;
console.log(
  ok
    ? `OK: all ${total} jobs ran and logged in the context of their own request.`
    : 'FAILED: see the table above.',
);
process.exit(ok ? 0 : 1);
