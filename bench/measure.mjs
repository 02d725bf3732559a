// Timing helpers shared by the benchmark suites: interleaved rounds, medians,
// ratios to an anchor measured in the same run.

/** Median of a list of numbers. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Percentile (0..100) of a list of numbers, nearest rank. */
export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

let sink = 0;
/** Keeps results alive so the JIT cannot drop the measured work. */
export function consume(value) {
  sink = (sink + (typeof value === 'number' ? value : 1)) | 0;
  return sink;
}

function nsPerOp(loop, iterations) {
  const start = process.hrtime.bigint();
  consume(loop(iterations));
  return Number(process.hrtime.bigint() - start) / iterations;
}

/**
 * Measures each case (`loop(n)` runs the operation n times) in `rounds`
 * interleaved rounds after a warm-up, so drift hits every case alike.
 * Returns the median ns/op of each case.
 */
export function measureInterleaved(cases, { rounds = 15, targetMs = 15 } = {}) {
  const iterations = {};
  for (const [name, loop] of Object.entries(cases)) {
    let n = 1000;
    // Calibrate: grow n until one run takes about targetMs (also warms up the JIT).
    while (nsPerOp(loop, n) * n < targetMs * 1e6 && n < 1e8) n *= 4;
    iterations[name] = n;
  }
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [name, loop] of Object.entries(cases)) {
      samples[name].push(nsPerOp(loop, iterations[name]));
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, median(list)]));
}

/** Formats rows (objects with the same keys) as an aligned text table. */
export function table(rows) {
  if (rows.length === 0) return '';
  const headers = Object.keys(rows[0]);
  const cells = rows.map((row) => headers.map((h) => String(row[h] ?? '')));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (values) =>
    values
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export const fmt = (x, digits = 2) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** Median latency (p50, us) of `tasks` calls of `run`, one at a time. */
export async function sequentialP50(run, tasks) {
  const latencies = [];
  for (let i = 0; i < tasks; i++) {
    const start = process.hrtime.bigint();
    await run();
    latencies.push(Number(process.hrtime.bigint() - start) / 1000);
  }
  return percentile(latencies, 50);
}

/** Calls of `run` completed per second with `inFlight` of them in flight at once. */
export async function pipelinedRate(run, tasks, inFlight = 256) {
  const start = process.hrtime.bigint();
  let started = 0;
  const lane = async () => {
    while (started < tasks) {
      started++;
      await run();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return tasks / (Number(process.hrtime.bigint() - start) / 1e9);
}
