// `npm run bench [context|serialization|workers|carried|queues|jobs ...]`: runs each suite on this
// Node and on Node 24 (AsyncLocalStorage runs on async_hooks in 20 and on
// AsyncContextFrame in 24), prints a table per run and writes
// bench/results/<suite>-node<major>.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmt, table } from './measure.mjs';

// Each job: a suite script, its arguments, and whether to pin it to one CPU
// (sequential latency on these 2-vCPU machines is bimodal unpinned: MEASURED.md).
const jobs = {
  context: [{ script: 'context', args: [] }],
  serialization: [{ script: 'serialization', args: [] }],
  workers: [
    { script: 'workers', args: ['pipelined', 'sync'] },
    { script: 'workers', args: ['pipelined', 'async'] },
    { script: 'workers', args: ['sequential', 'sync'], pinned: true },
    { script: 'workers', args: ['sequential', 'async'], pinned: true },
  ],
  carried: [{ script: 'carried', args: [] }],
  queues: [{ script: 'queues', args: [] }],
  jobs: [{ script: 'jobs', args: [] }],
};
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(jobs);
const resultsDir = fileURLToPath(new URL('results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });

function nodeCommands() {
  const commands = [[process.execPath]];
  if (!process.version.startsWith('v24.'))
    commands.push(['npx', '-y', '-p', 'node@24', '--', 'node']);
  return commands;
}

function canPin() {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return true;
  } catch {
    return false;
  }
}

function show(value) {
  return typeof value === 'number' ? fmt(value) : String(value);
}

function printReport(report, pinned) {
  console.log(`\n## ${report.suite} on Node ${report.node}${pinned ? ' (pinned to CPU 0)' : ''}\n`);
  if (report.skipped) {
    console.log(`Not run: ${report.skipped}`);
    return;
  }
  console.log(
    table(
      report.rows.map((row) =>
        Object.fromEntries(Object.entries(row).map(([k, v]) => [k, show(v)])),
      ),
    ),
  );
  console.log('');
  const targets = report.targets.map((t) => ({
    target: t.target,
    value: fmt(t.value),
    limit: String(t.limit),
    met: t.met ? 'yes' : 'NO',
  }));
  console.log(table(targets));
  if (report.defaults !== undefined) {
    const [[unit, value]] = Object.entries(report.defaults);
    console.log(
      `\nContextPool's defaults (atomics 'async') against this bare pool: ${fmt(value)} ${unit}`,
    );
  }
}

const pinning = canPin();
let allMet = true;
for (const name of chosen) {
  for (const job of jobs[name] ?? []) {
    const script = fileURLToPath(new URL(`suites/${job.script}.mjs`, import.meta.url));
    for (const [command, ...prefix] of nodeCommands()) {
      const pinned = job.pinned === true && pinning;
      const [file, ...args] = pinned
        ? ['taskset', '-c', '0', command, ...prefix]
        : [command, ...prefix];
      const output = execFileSync(file, [...args, '--expose-gc', script, ...job.args], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, BENCH_PINNED: pinned ? '1' : '0' },
      });
      const report = JSON.parse(output);
      const major = report.node.slice(1).split('.')[0];
      writeFileSync(
        `${resultsDir}${report.suite}-node${major}.json`,
        `${JSON.stringify(report, null, 2)}\n`,
      );
      printReport(report, pinned);
      allMet &&= report.targets.every((t) => t.met);
    }
  }
}
if (!pinning) console.log('\ntaskset is missing: sequential latency was measured unpinned.');
console.log(`\nResults written to ${resultsDir}`);
if (!allMet) console.log('Some targets were not met (see NO above).');
