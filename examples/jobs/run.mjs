// `npm run example:jobs`: pg-boss on PGlite (no server needed), an HTTP server
// whose requests enqueue jobs, and a handler that logs each job, and each
// retry, with the id of the request that enqueued it. Prints the log and
// exits 1 unless every line names the right request.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { logLine, requestId } from './context.mjs';
import { startQueue } from './queue.mjs';
import { startServer } from './server.mjs';

const { values: args } = parseArgs({ options: { requests: { type: 'string', default: '9' } } });
const total = Number(args.requests);

// Each log line, with the user it is about: the check below knows which request that was.
const lines = [];
const log = (user, line) => {
  lines.push({ user, line });
  console.log(line);
};

// The context travels signed: the handler refuses snapshots it cannot verify.
const queue = await startQueue({ key: randomBytes(32).toString('base64') });
let sent = 0;
let allSent = () => {};
const everyEmailSent = new Promise((resolve) => {
  allSent = resolve;
});
await queue.boss.work('emails', { pollingIntervalSeconds: 0.5 }, async ([job]) => {
  const user = job.data.to.split('@')[0];
  const attempt = job.retryCount + 1;
  if (job.data.flaky && attempt === 1) {
    log(user, logLine(`sending to ${job.data.to} failed (attempt ${attempt}), retrying`));
    throw new Error('the mail server timed out');
  }
  log(user, logLine(`sent the welcome email to ${job.data.to} (attempt ${attempt})`));
  if (++sent === total) allSent();
});

const server = await startServer({ boss: queue.boss, log });
const requests = await Promise.all(
  Array.from({ length: total }, async (_, i) => {
    const user = `user-${i + 1}`;
    const response = await fetch(`${server.url}/signup?user=${user}`, {
      method: 'POST',
      headers: { 'x-request-id': `req-${randomBytes(3).toString('hex')}` },
    });
    return { user, ...(await response.json()) };
  }),
);
await everyEmailSent;
await server.close();
await queue.stop();

// Every line must name the request of the user it is about.
const idOf = new Map(requests.map((r) => [r.user, r.requestId]));
const wrong = lines.filter(({ user, line }) => !line.startsWith(`[request ${idOf.get(user)}] `));
const retries = lines.filter(({ line }) => line.includes('(attempt 2)')).length;
console.log(
  `\n${requests.length} requests, ${lines.length} log lines (${retries} from retries), ` +
    `${wrong.length} naming the wrong request; outside any request the id reads '${requestId.get()}'.`,
);
const ok = wrong.length === 0 && retries === Math.floor(total / 3) && sent === total;
console.log(
  ok
    ? 'OK: every job and every retry logged the id of the request that enqueued it.'
    : 'FAILED: see the lines above.',
);
process.exit(ok ? 0 : 1);
