// `npm run example:service`: one service with every integration at once.
// Starts a private Redis, service B, the job process and service A (each its
// own process, each with HTTP auto-instrumented OpenTelemetry and pino), sends
// a few orders to A, then prints one order's trace tree, built from the spans
// every process and thread exported, and its log lines from all of them.
// Exits 1 unless every trace is one tree and every log line names its own
// request.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { GET_REDIS, hasRedisServer, startRedis } from '../queue/redis.mjs';
import { traceTree } from '../shared/tracing.mjs';

const ORDERS = 5;
/** Spans each order makes: A's server span, its order span, the pool task, A's client
 *  span, B's server span, B's stock span, and two attempts of the job. */
const SPANS_PER_ORDER = 8;

if (!hasRedisServer()) {
  console.error(`This example needs Redis: ${GET_REDIS}, then run it again.`);
  process.exit(1);
}
const redis = await startRedis();
const env = {
  ...process.env,
  CONTEXT_KEY: randomBytes(32).toString('base64'),
  REDIS_SOCKET: redis.path,
};
const spans = [];
const lines = [];
let onCompleted = () => {};

/** Forks a process of the example; resolves with it and what it said when ready. */
function start(file, role, extraEnv = {}) {
  const child = fork(new URL(file, import.meta.url), {
    execArgv: ['--import', new URL('./telemetry.mjs', import.meta.url).href],
    env: { ...env, ...extraEnv, EXAMPLE_ROLE: role },
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
  child.on('message', (message) => {
    if (message?.span) spans.push(message.span);
    if (message?.completed) onCompleted(message.completed);
  });
  return new Promise((resolve) =>
    child.on('message', (message) => message?.ready && resolve({ child, ready: message.ready })),
  );
}

/** Asks a process to stop (it closes its servers, pool, queue or worker) and waits for its exit. */
function stop(child) {
  const exited = once(child, 'exit');
  child.send('stop');
  return exited;
}

const b = await start('./service-b.mjs', 'service B');
const jobs = await start('./jobs.mjs', 'jobs');
const a = await start('./service-a.mjs', 'service A', { B_URL: b.ready });

const shipped = new Set();
const allShipped = new Promise((resolve) => {
  onCompleted = (id) => {
    shipped.add(id);
    if (shipped.size === ORDERS) resolve();
  };
});
const answers = await Promise.all(
  Array.from({ length: ORDERS }, (_, order) =>
    fetch(`${a.ready}/orders?order=${order}`, {
      method: 'POST',
      headers: { 'x-request-id': `order-${order}` },
    }).then((response) => response.json()),
  ),
);
await allShipped;
for (const { child } of [a, jobs, b]) await stop(child);
await redis.stop();

// Every order is one trace: group the spans by trace, each led by A's server span.
const traces = new Map();
for (const span of spans) traces.set(span.traceId, [...(traces.get(span.traceId) ?? []), span]);
const isOneTree = (trace) =>
  trace.filter((span) => !trace.some((parent) => parent.spanId === span.parentSpanId)).length === 1;
const wellFormed = [...traces.values()].filter(
  (trace) => trace.length === SPANS_PER_ORDER && isOneTree(trace),
);

const [first] = answers;
console.log(`Order 0, request id ${first.requestId}: its trace, from every process and thread\n`);
console.log(traceTree(spans, first.traceId));
const width = Math.max(...lines.map((line) => line.where.length));
console.log(`\nIts log lines, from every process and thread\n`);
for (const line of lines.filter((line) => line.order === 0)) {
  console.log(`${line.where.padEnd(width)}  reqId=${line.reqId}  ${line.msg}`);
}

// Each line logs its order from the data it was given, and its request id from the context.
const wrong = lines.filter((line) => line.reqId !== `order-${line.order}`);
const places = [...new Set(lines.map((line) => line.where))].sort();
console.log(
  `\n${ORDERS} orders: ${wellFormed.length} of ${traces.size} traces are one tree of ` +
    `${SPANS_PER_ORDER} spans; ${lines.length - wrong.length} of ${lines.length} log lines, ` +
    `from ${places.join('; ')}, carry their own request's id.`,
);
for (const line of wrong) console.log(`WRONG: ${JSON.stringify(line)}`);
const ok = wrong.length === 0 && wellFormed.length === ORDERS && traces.size === ORDERS;
console.log(ok ? 'OK' : 'FAILED');
process.exitCode = ok ? 0 : 1;
