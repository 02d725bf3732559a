// Starts server.mjs in a process of its own, sends requests, reads the JSON
// log lines it writes on stdout (from the main thread and the workers) and
// checks that each line carries exactly one reqId, the id of its request.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { requests: { type: 'string', default: '40' } } });
const total = Number(args.requests);

const child = spawn(process.execPath, [fileURLToPath(new URL('server.mjs', import.meta.url))], {
  stdio: ['pipe', 'pipe', 'pipe'],
});
const lines = [];
createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
const [url] = (await once(child.stderr, 'data')).map(String).map((s) => s.trim());

const answers = await Promise.all(
  Array.from({ length: total }, async (_, i) => {
    // Half the requests bring their own id; Fastify makes one for the rest.
    const headers = { 'x-tenant': ['acme', 'globex'][i % 2] };
    if (i % 2 === 0) headers['x-request-id'] = `caller-${i}`;
    const response = await fetch(`${url}/hash?password=secret-${i}`, { headers });
    return response.json();
  }),
);
child.stdin.end();
await once(child, 'exit');

const byRequest = new Map(answers.map((a) => [a.requestId, []]));
const faults = [];
for (const line of lines) {
  const ids = line.match(/"reqId":/g)?.length ?? 0;
  const entry = JSON.parse(line);
  if (entry.reqId === undefined) continue; // startup and shutdown lines
  if (ids !== 1) faults.push(`${ids} reqId fields: ${line}`);
  if (!byRequest.has(entry.reqId)) faults.push(`unknown reqId: ${line}`);
  else byRequest.get(entry.reqId).push(entry.msg);
}
const expected = [
  'incoming request',
  'hashing',
  'hashed a password',
  'hashed',
  'request completed',
];
for (const [id, messages] of byRequest) {
  if (messages.sort().join() !== [...expected].sort().join()) {
    faults.push(`request ${id} logged ${JSON.stringify(messages)}`);
  }
}

console.log('Log lines of one request (main thread and worker):');
const sample = answers[0].requestId;
for (const line of lines.filter((l) => l.includes(`"reqId":"${sample}"`))) console.log(`  ${line}`);
console.log(`\n${total} requests, ${lines.length} log lines.`);
if (faults.length > 0) {
  console.log(`FAILED:\n${faults.slice(0, 10).join('\n')}`);
  process.exit(1);
}
console.log(
  `OK: every request logged its ${expected.length} lines, each with exactly one reqId, its own.`,
);
