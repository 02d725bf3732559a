// Core benchmark: get / set / reset / copyContext / run / an await chain, as
// ratios to bare AsyncLocalStorage and to CPython's C contextvars measured in
// the same run. Prints a JSON report on stdout.
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Context, ContextVar, copyContext } from '../../dist/index.js';
import { consume, measureInterleaved, median } from '../measure.mjs';

const als = new AsyncLocalStorage();
const store = { request: 1 };
const noop = () => 0;

function contextWith(n) {
  const ctx = new Context();
  const vars = Array.from({ length: n }, (_, i) => new ContextVar(`v${i}`));
  ctx.run(() => {
    for (const [i, v] of vars.entries()) v.set(i);
  });
  return { ctx, vars };
}

const sizes = [1, 10, 100, 1000, 10000];
const bySize = Object.fromEntries(sizes.map((n) => [n, contextWith(n)]));
const ten = bySize[10];
const probe = ten.vars[0];
const unset = new ContextVar('unset', { default: 0 });
const empty = new Context();

// Values stay small integers and sums use xor: a running sum that leaves the
// small-integer range would turn the loop itself into double arithmetic.
const cases = {
  'als.getStore()': (n) =>
    als.run(store, () => {
      let s = 0;
      for (let i = 0; i < n; i++) s += als.getStore() === store ? 1 : 0;
      return s;
    }),
  'get (set var)': (n) =>
    ten.ctx.run(() => {
      let s = 0;
      for (let i = 0; i < n; i++) s ^= probe.get();
      return s;
    }),
  'get (unset, default)': (n) =>
    ten.ctx.run(() => {
      let s = 0;
      for (let i = 0; i < n; i++) s ^= unset.get();
      return s;
    }),
  'set (10-var context)': (n) =>
    ten.ctx.run(() => {
      for (let i = 0; i < n; i++) probe.set(i & 1023);
      return n;
    }),
  'als.run(store, noop)': (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += als.run(store, noop);
    return s;
  },
  'run(noop)': (n) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += empty.run(noop);
    return s;
  },
};
for (const size of sizes) {
  const { ctx, vars } = bySize[size];
  cases[`set (n=${size})`] = (n) =>
    ctx.run(() => {
      for (let i = 0; i < n; i++) vars[0].set(i & 1023);
      return n;
    });
  cases[`copyContext (n=${size})`] = (n) =>
    ctx.run(() => {
      let s = 0;
      for (let i = 0; i < n; i++) s += copyContext().size;
      return s;
    });
}
for (const size of [1, 1000]) {
  const { ctx, vars } = bySize[size];
  cases[`set+reset (n=${size})`] = (n) =>
    ctx.run(() => {
      for (let i = 0; i < n; i++) vars[0].reset(vars[0].set(i & 1023));
      return n;
    });
}

const only = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : null;
if (only) for (const name of Object.keys(cases)) if (!only.test(name)) delete cases[name];
const ns = measureInterleaved(cases);

// A 10-await chain, inside our run and inside a bare als.run.
async function chain() {
  for (let i = 0; i < 10; i++) await null;
  return 1;
}
async function measureChains(rounds = 15, iterations = 20000) {
  const samples = { 'als.run(10-await chain)': [], 'run(10-await chain)': [] };
  const runners = {
    'als.run(10-await chain)': () => als.run(store, chain),
    'run(10-await chain)': () => new Context().run(chain),
  };
  for (let round = 0; round < rounds + 2; round++) {
    for (const [name, start] of Object.entries(runners)) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) consume(await start());
      if (round >= 2) samples[name].push(Number(process.hrtime.bigint() - t0) / iterations);
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}
Object.assign(ns, await measureChains());

// The CONTEXTVARS_ROOT_SET check: `set` in a copy never asks whether a server
// request is in flight; `set` at the root does. Each round measures both with
// no request in flight, then again while a real loopback request is held open.
async function measureRootSetCheck(rounds = 15) {
  process.removeAllListeners('warning'); // the in-flight root set warns once, by design
  const atRoot = Array.from({ length: 10 }, (_, i) => new ContextVar(`root${i}`));
  for (const [i, v] of atRoot.entries()) v.set(i); // at startup: nothing in flight
  const probe = atRoot[0];
  const copy = copyContext();
  const loop = (n) => {
    for (let i = 0; i < n; i++) probe.set(i & 1023);
    return n;
  };
  const cases = { 'set in a copy': (n) => copy.run(loop, n), 'set at the root': loop };
  const held = [];
  const server = createServer((_req, res) => held.push(res));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  const iterations = 1_000_000;
  const samples = {};
  for (let round = 0; round < rounds + 2; round++) {
    for (const inFlight of [false, true]) {
      let answered;
      if (inFlight) {
        const arrived = once(server, 'request');
        answered = new Promise((resolve) => get(url, (res) => res.resume().on('end', resolve)));
        await arrived;
      }
      for (const [name, run] of Object.entries(cases)) {
        const key = `${name}, ${inFlight ? 'a request in flight' : 'no request in flight'}`;
        const t0 = process.hrtime.bigint();
        consume(run(iterations));
        const perOp = Number(process.hrtime.bigint() - t0) / iterations;
        if (round < 2) continue; // warm-up
        samples[key] ??= [];
        samples[key].push(perOp);
      }
      if (inFlight) {
        held.pop().end();
        await answered;
      }
    }
  }
  server.close();
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
}
Object.assign(ns, await measureRootSetCheck());

// Memory: 100,000 copies of a 1,000-var context share one map.
function bytesPerCopy() {
  const { ctx } = bySize[1000];
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const copies = ctx.run(() => Array.from({ length: 100_000 }, () => copyContext()));
  globalThis.gc?.();
  const after = process.memoryUsage().heapUsed;
  consume(copies.length);
  return (after - before) / copies.length;
}
const memory = { copies: 100_000, varsPerContext: 1000, bytesPerCopy: bytesPerCopy() };

let cpython = null;
try {
  const script = fileURLToPath(new URL('cpython_context.py', import.meta.url));
  cpython = JSON.parse(execFileSync('python3', [script], { encoding: 'utf8' }));
} catch (error) {
  cpython = { error: String(error) };
}

const py = (name) => (cpython && typeof cpython[name] === 'number' ? cpython[name] : Number.NaN);
const rows = Object.entries(ns).map(([name, value]) => ({
  op: name,
  'ns/op': value,
  'x als': name.startsWith('get')
    ? value / ns['als.getStore()']
    : name.startsWith('run(noop')
      ? value / ns['als.run(store, noop)']
      : name.startsWith('run(10')
        ? value / ns['als.run(10-await chain)']
        : Number.NaN,
  'CPython ns/op': py(name === 'set (10-var context)' ? 'set (10-var context)' : name),
  'x CPython': value / py(name),
}));
const ratio = (a, b) => ns[a] / ns[b];
const targets = [
  {
    target: 'get() within 1.5x of als.getStore()',
    value: ratio('get (set var)', 'als.getStore()'),
    limit: 1.5,
  },
  {
    target: 'run(noop) within 1.5x of als.run(store, noop)',
    value: ratio('run(noop)', 'als.run(store, noop)'),
    limit: 1.5,
  },
  {
    target: 'copyContext flat: n=10,000 / n=1',
    value: ratio('copyContext (n=10000)', 'copyContext (n=1)'),
    limit: 1.5,
  },
  {
    target: 'set O(log n): n=10,000 / n=1 (log32 ratio ~ 3 levels)',
    value: ratio('set (n=10000)', 'set (n=1)'),
    limit: 12,
  },
  { target: 'get faster than CPython', value: ns['get (set var)'] / py('get (set var)'), limit: 1 },
  {
    target: 'set faster than CPython',
    value: ns['set (10-var context)'] / py('set (10-var context)'),
    limit: 1,
  },
  {
    target: 'copyContext faster than CPython',
    value: ns['copyContext (n=10)'] / py('copyContext (n=10)'),
    limit: 1,
  },
  {
    target: 'set in a copy pays nothing for the root-set check: request in flight / none',
    value: ratio('set in a copy, a request in flight', 'set in a copy, no request in flight'),
    limit: 1.1,
  },
  {
    target: 'set at the root, no request in flight / set in a copy (reported)',
    value: ratio('set at the root, no request in flight', 'set in a copy, no request in flight'),
    limit: 1.5,
  },
  {
    target: '100,000 copies of a 1,000-var context: bytes per copy, not per entry',
    value: memory.bytesPerCopy,
    limit: 1000,
  },
].map((t) => ({ ...t, met: t.value <= t.limit }));

process.stdout.write(
  JSON.stringify({ suite: 'context', node: process.version, rows, targets, memory, cpython }),
);
