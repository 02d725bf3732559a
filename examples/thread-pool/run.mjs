// `npm start`: starts the server, fires concurrent requests at it, and checks
// that every log line the workers wrote carries the id of its own request.
import { request as httpRequest } from 'node:http';
import { parseArgs } from 'node:util';
import { startServer } from './server.mjs';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '300' },
    concurrency: { type: 'string', default: '64' },
    threads: { type: 'string', default: '2' },
  },
});
const total = Number(args.requests);
const concurrency = Number(args.concurrency);

const server = await startServer({ threads: Number(args.threads) });
const logs = [];
let allLogged;
const logsArrived = new Promise((resolve) => {
  allLogged = resolve;
});
server.pool.on('message', (message) => {
  if (message?.type !== 'log') return;
  logs.push(message);
  if (logs.length === total) allLogged();
});

function get(i) {
  const headers = { 'x-user': `user-${i % 17}`, 'x-tenant': ['acme', 'globex', 'initech'][i % 3] };
  // Half the requests bring their own id; the server makes one for the rest.
  if (i % 2 === 0) headers['x-request-id'] = `req-${i}`;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${server.url}/hash?password=secret-${i}`, { headers }, (res) => {
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

const results = [];
let next = 0;
const started = performance.now();
async function client() {
  while (next < total) {
    results.push(await get(next++));
    if (results.length % 25 === 0 || results.length === total) {
      process.stdout.write(
        `${process.stdout.isTTY ? '\r' : '\n'}${results.length}/${total} requests answered`,
      );
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, client));
const seconds = (performance.now() - started) / 1000;
if (process.stdout.isTTY) process.stdout.write('\n');
// Log lines travel on the workers' own channel, so the last may trail its response.
const timeout = setTimeout(allLogged, 5_000);
await logsArrived;
clearTimeout(timeout);

const latencies = results.map((r) => r.ms).sort((a, b) => a - b);
const pick = (p) =>
  latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
const answered = new Set(results.filter((r) => r.status === 200).map((r) => r.requestId));
const matching = logs.filter(
  (log) => answered.has(log.requestId) && log.line.startsWith(`[request ${log.requestId}]`),
);
const everyRequestLogged = results.every((r) => logs.some((log) => log.requestId === r.requestId));

console.log('\nSample log lines from the worker threads:');
for (const log of logs.slice(0, 3)) console.log(`  ${log.line}`);
console.log(
  `\n${concurrency} requests in flight over ${args.threads} worker threads: latency includes the wait in the pool's queue.`,
);
console.table({
  requests: { value: total },
  'answered 200': { value: results.filter((r) => r.status === 200).length },
  'latency p50 (ms)': { value: Number(pick(50).toFixed(1)) },
  'latency p99 (ms)': { value: Number(pick(99).toFixed(1)) },
  'tasks/s': { value: Math.round(server.pool.completed / seconds) },
  'log lines': { value: logs.length },
  'log lines matching their response': { value: matching.length },
});
await server.close();

const ok =
  answered.size === total &&
  matching.length === logs.length &&
  logs.length === total &&
  everyRequestLogged;
console.log(
  ok
    ? `OK: all ${total} log lines carry the request id of their response.`
    : 'FAILED: see the table above.',
);
process.exit(ok ? 0 : 1);
