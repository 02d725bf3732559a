// `npm run bench`: runs each suite on this Node and on Node 24 (AsyncLocalStorage
// runs on async_hooks in 20 and on AsyncContextFrame in 24), prints a table per
// run and writes bench/results/<suite>-node<major>.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmt, table } from './measure.mjs';

const suites =
  process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['context', 'serialization'];
const resultsDir = fileURLToPath(new URL('results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });

function nodeCommands() {
  const commands = [[process.execPath]];
  if (!process.version.startsWith('v24.'))
    commands.push(['npx', '-y', '-p', 'node@24', '--', 'node']);
  return commands;
}

function show(value) {
  return typeof value === 'number' ? fmt(value) : String(value);
}

let allMet = true;
for (const suite of suites) {
  const script = fileURLToPath(new URL(`suites/${suite}.mjs`, import.meta.url));
  for (const [command, ...prefix] of nodeCommands()) {
    const output = execFileSync(command, [...prefix, '--expose-gc', script], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const report = JSON.parse(output);
    const major = report.node.slice(1).split('.')[0];
    writeFileSync(
      `${resultsDir}${suite}-node${major}.json`,
      `${JSON.stringify(report, null, 2)}\n`,
    );
    console.log(`\n## ${suite} on Node ${report.node}\n`);
    console.log(
      table(
        report.rows.map((row) =>
          Object.fromEntries(Object.entries(row).map(([k, v]) => [k, show(v)])),
        ),
      ),
    );
    console.log('');
    console.log(
      table(
        report.targets.map((t) => ({
          target: t.target,
          value: fmt(t.value),
          limit: String(t.limit),
          met: t.met ? 'yes' : 'NO',
        })),
      ),
    );
    allMet &&= report.targets.every((t) => t.met);
  }
}
console.log(`\nResults written to ${resultsDir}`);
if (!allMet) console.log('Some targets were not met (see NO above).');
