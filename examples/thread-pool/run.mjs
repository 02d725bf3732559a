// `npm start`: the same requests through the same server twice, once with
// bare piscina and once with ContextPool, then what the workers' log lines
// say about each request, side by side, and where the time went.
import { request as httpRequest } from 'node:http';
import { parseArgs } from 'node:util';
import { startServer } from './server.mjs';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '8' },
    threads: { type: 'string', default: '2' },
  },
});
const total = Number(args.requests);
const concurrency = Number(args.concurrency);
const threads = Number(args.threads);

function get(url, i) {
  const headers = { 'x-user': `user-${i % 17}`, 'x-tenant': ['acme', 'globex', 'initech'][i % 3] };
  // Half the requests bring their own id; the server makes one for the rest.
  if (i % 2 === 0) headers['x-request-id'] = `req-${i}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/hash?password=secret-${i}`, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode, ...JSON.parse(body), ms: performance.now() - started }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends every request through one server; returns the responses and the workers' log lines. */
async function load(kind) {
  const server = await startServer({ pool: kind, threads });
  const logs = [];
  server.pool.on('message', (message) => {
    if (message?.type === 'log') logs.push(message);
  });
  const results = [];
  let next = 0;
  const client = async () => {
    while (next < total) results.push(await get(server.url, next++));
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  // Log lines travel on the workers' own channel: the last may trail its response.
  for (let waited = 0; logs.length < total && waited < 5_000; waited += 10) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await server.close();
  return { results, logs };
}

function summary({ results, logs }) {
  const answered = new Set(results.filter((r) => r.status === 200).map((r) => r.requestId));
  const right = logs.filter((log) => answered.has(JSON.parse(log.line).reqId));
  const sorted = (values) => values.sort((a, b) => a - b);
  const p = (list, q) => list[Math.min(list.length - 1, Math.ceil(q * list.length) - 1)];
  const total = sorted(results.map((r) => r.ms));
  const worker = sorted(results.filter((r) => r.status === 200).map((r) => r.workerMs));
  const waiting = sorted(results.filter((r) => r.status === 200).map((r) => r.ms - r.workerMs));
  return { answered: answered.size, right: right.length, logs, total, worker, waiting, p };
}

const bare = summary(await load('piscina'));
const carried = summary(await load('contextvars'));

const ms = (value) => `${value.toFixed(1)} ms`;
console.log(`\n${total} requests, ${concurrency} at a time, over ${threads} worker threads.\n`);
console.log('What the workers logged (the request id is read from the context, in the worker):');
console.table({
  'requests answered': { 'bare piscina': bare.answered, ContextPool: carried.answered },
  'log lines with their own request id': {
    'bare piscina': bare.right,
    ContextPool: carried.right,
  },
  'a log line': { 'bare piscina': bare.logs[0]?.line, ContextPool: carried.logs[0]?.line },
});
console.log(
  '\nWhere a request spends its time (p50 / p99). "hashing" is the work itself, in a worker;',
);
console.log(
  `"waiting" is everything else: ${concurrency} requests share ${threads} threads, so most of it is`,
);
console.log('the wait for a free thread, plus HTTP and the trip between threads.');
console.table({
  'hashing (in the worker)': {
    'bare piscina': `${ms(bare.p(bare.worker, 0.5))} / ${ms(bare.p(bare.worker, 0.99))}`,
    ContextPool: `${ms(carried.p(carried.worker, 0.5))} / ${ms(carried.p(carried.worker, 0.99))}`,
  },
  waiting: {
    'bare piscina': `${ms(bare.p(bare.waiting, 0.5))} / ${ms(bare.p(bare.waiting, 0.99))}`,
    ContextPool: `${ms(carried.p(carried.waiting, 0.5))} / ${ms(carried.p(carried.waiting, 0.99))}`,
  },
  'whole request': {
    'bare piscina': `${ms(bare.p(bare.total, 0.5))} / ${ms(bare.p(bare.total, 0.99))}`,
    ContextPool: `${ms(carried.p(carried.total, 0.5))} / ${ms(carried.p(carried.total, 0.99))}`,
  },
});

const ok = carried.answered === total && carried.right === total && carried.logs.length === total;
console.log(
  ok
    ? `\nOK: with ContextPool all ${total} log lines carry the request id of their response; ` +
        `with bare piscina ${bare.right} do.`
    : '\nFAILED: with ContextPool some log lines lack their request id (see above).',
);
process.exit(ok ? 0 : 1);
