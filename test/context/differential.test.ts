// Differential test: random programs of var/set/get/reset/copy/run operations
// run in CPython's contextvars (a long-lived python3 process) and in ours; the
// traces must be identical. fast-check shrinks a failing program and prints it.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Context, ContextVar, copyContext, LookupError, Token } from '../../src/index.js';

type Value = number | null;
type Op =
  | { op: 'get'; v: number }
  | { op: 'getFallback'; v: number; fallback: Value }
  | { op: 'set'; v: number; value: Value }
  | { op: 'reset'; v: number; t: number }
  | { op: 'oldValue'; t: number }
  | { op: 'copy' | 'new' }
  | { op: 'raise' }
  | { op: 'run'; c: number; body: Op[] }
  | { op: 'ctxGet' | 'ctxHas'; c: number; v: number }
  | { op: 'len' | 'keys'; c: number };
interface VarSpec {
  name: string;
  hasDefault: boolean;
  default: Value;
}
interface Program {
  vars: VarSpec[];
  ops: Op[];
}
type TraceEntry = unknown[];

const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(null));
const index = fc.nat({ max: 7 });

const { op } = fc.letrec<{ op: Op; ops: Op[] }>((tie) => ({
  op: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ op: fc.constant('get' as const), v: index }),
    fc.record({ op: fc.constant('getFallback' as const), v: index, fallback: value }),
    fc.record({ op: fc.constant('set' as const), v: index, value }),
    fc.record({ op: fc.constant('set' as const), v: index, value }),
    fc.record({ op: fc.constant('reset' as const), v: index, t: index }),
    fc.record({ op: fc.constant('oldValue' as const), t: index }),
    fc.record({ op: fc.constant('raise' as const) }),
    fc.record({ op: fc.constantFrom('copy' as const, 'new' as const) }),
    fc.record({ op: fc.constantFrom('copy' as const, 'new' as const) }),
    fc.record({
      op: fc.constant('run' as const),
      c: index,
      body: tie('ops') as fc.Arbitrary<Op[]>,
    }),
    fc.record({
      op: fc.constant('run' as const),
      c: index,
      body: tie('ops') as fc.Arbitrary<Op[]>,
    }),
    fc.record({ op: fc.constantFrom('ctxGet' as const, 'ctxHas' as const), c: index, v: index }),
    fc.record({ op: fc.constantFrom('len' as const, 'keys' as const), c: index }),
  ),
  ops: fc.array(tie('op') as fc.Arbitrary<Op>, { maxLength: 12 }),
}));

const program: fc.Arbitrary<Program> = fc.record({
  vars: fc.array(
    fc.record({ name: fc.constantFrom('a', 'b', 'c'), hasDefault: fc.boolean(), default: value }),
    { minLength: 1, maxLength: 3 },
  ),
  ops: fc.array(op, { minLength: 4, maxLength: 30 }),
});

class Raised extends Error {}

function errorKind(error: unknown): string {
  if (error instanceof LookupError) return 'LookupError';
  const code = (error as { code?: string }).code;
  const kinds: Record<string, string> = {
    ERR_TOKEN_USED: 'TOKEN_USED',
    ERR_TOKEN_VAR: 'TOKEN_VAR',
    ERR_TOKEN_CONTEXT: 'TOKEN_CONTEXT',
    ERR_CONTEXT_ENTERED: 'ENTERED',
  };
  const kind = code === undefined ? undefined : kinds[code];
  if (kind === undefined) throw error;
  return kind;
}

function runProgram({ vars: specs, ops: topLevel }: Program): TraceEntry[] {
  const vars = specs.map((spec) =>
    spec.hasDefault
      ? new ContextVar<Value>(spec.name, { default: spec.default })
      : new ContextVar<Value>(spec.name),
  );
  const contexts: Context[] = [];
  const tokens: Token<Value>[] = [];
  const trace: TraceEntry[] = [];
  const varOf = (v: number) => vars[v % vars.length] as ContextVar<Value>;

  const execute = (list: Op[]): void => {
    for (const op of list) {
      if (op.op === 'raise') throw new Raised();
      try {
        step(op);
      } catch (error) {
        if (error instanceof Raised) throw error;
        trace.push(['error', errorKind(error)]);
      }
    }
  };

  const step = (op: Exclude<Op, { op: 'raise' }>): void => {
    switch (op.op) {
      case 'get':
        trace.push(['value', varOf(op.v).get()]);
        return;
      case 'getFallback':
        trace.push(['value', varOf(op.v).get(op.fallback)]);
        return;
      case 'set':
        tokens.push(varOf(op.v).set(op.value));
        trace.push(['ok']);
        return;
      case 'reset':
      case 'oldValue': {
        const token = tokens[op.t % Math.max(tokens.length, 1)];
        if (token === undefined) {
          trace.push(['none']);
        } else if (op.op === 'reset') {
          varOf(op.v).reset(token);
          trace.push(['ok']);
        } else {
          trace.push(['value', token.oldValue === Token.MISSING ? 'MISSING' : token.oldValue]);
        }
        return;
      }
      case 'copy':
        contexts.push(copyContext());
        trace.push(['ok']);
        return;
      case 'new':
        contexts.push(new Context());
        trace.push(['ok']);
        return;
      default: {
        const ctx = contexts[op.c % Math.max(contexts.length, 1)];
        if (ctx === undefined) {
          trace.push(['none']);
          return;
        }
        switch (op.op) {
          case 'run':
            try {
              ctx.run(execute, op.body);
              trace.push(['ran']);
            } catch (error) {
              if (!(error instanceof Raised)) throw error;
              trace.push(['raised']);
            }
            return;
          case 'ctxGet':
            trace.push(['value', ctx.get(varOf(op.v), 'ABSENT')]);
            return;
          case 'ctxHas':
            trace.push(['value', ctx.has(varOf(op.v))]);
            return;
          case 'len':
            trace.push(['value', ctx.size]);
            return;
          case 'keys':
            trace.push([
              'value',
              [...ctx.keys()].map((v) => vars.indexOf(v as ContextVar<Value>)).sort(),
            ]);
            return;
        }
      }
    }
  };

  try {
    execute(topLevel);
  } catch (error) {
    if (!(error instanceof Raised)) throw error;
    trace.push(['raised']);
  }
  return trace;
}

let python: ChildProcessWithoutNullStreams;
let lines: Interface;
let replies: AsyncIterator<string>;

beforeAll(() => {
  python = spawn('python3', [fileURLToPath(new URL('fixtures/differential.py', import.meta.url))]);
  lines = createInterface({ input: python.stdout });
  replies = lines[Symbol.asyncIterator]();
});

afterAll(() => {
  lines.close();
  python.kill();
});

async function runInCPython(p: Program): Promise<TraceEntry[]> {
  python.stdin.write(`${JSON.stringify(p)}\n`);
  const reply = await replies.next();
  if (reply.done) throw new Error('python3 exited early');
  return JSON.parse(reply.value) as TraceEntry[];
}

it('matches CPython on 600 random programs', async () => {
  let nontrivial = 0;
  await fc.assert(
    fc.asyncProperty(program, async (p) => {
      const expected = await runInCPython(p);
      const actual = new Context().run(runProgram, p);
      if (expected.some((entry) => entry[0] === 'error' || entry[0] === 'ran')) nontrivial++;
      expect(actual).toEqual(expected);
    }),
    { numRuns: 600 },
  );
  // The generator must reach errors and nested runs, or the comparison says little.
  expect(nontrivial).toBeGreaterThan(200);
});
