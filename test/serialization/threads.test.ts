import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Context, ContextVar } from '../../src/index.js';
import { deserializeContext, serializeContext } from '../../src/serialization/index.js';

const tenant = new ContextVar<string>('threads_tenant');
const traceOnlyHere = new ContextVar<{ spans: number[] }>('threads_late');
let worker: Worker;

beforeAll(() => {
  worker = new Worker(new URL('fixtures/receiver.mjs', import.meta.url));
});

afterAll(async () => {
  await worker.terminate();
});

async function ask(step: string, snapshot: unknown): Promise<Record<string, unknown>> {
  worker.postMessage({ step, snapshot });
  const [reply] = await once(worker, 'message');
  return reply as Record<string, unknown>;
}

function contextWith(setUp: () => void): Context {
  const ctx = new Context();
  ctx.run(setUp);
  return ctx;
}

describe('snapshots across a real thread boundary', () => {
  it('a declared name arrives as an ordinary entry, in both formats', async () => {
    const ctx = contextWith(() => tenant.set('acme'));
    expect(await ask('inspect', serializeContext(ctx))).toEqual({ size: 1, tenant: 'acme' });
    expect(await ask('inspect', serializeContext(ctx, { format: 'json' }))).toEqual({
      size: 1,
      tenant: 'acme',
    });
  });

  it('an undeclared name stays pending there and comes back intact', async () => {
    const ctx = contextWith(() => {
      tenant.set('acme');
      traceOnlyHere.set({ spans: [1, 2] });
    });
    const reply = await ask('forward', serializeContext(ctx));
    // The worker declares threads_tenant only: threads_late is pending, invisible to size.
    expect(reply.size).toBe(1);
    const back = deserializeContext(reply.snapshot as never);
    expect(back.get(traceOnlyHere)).toEqual({ spans: [1, 2] });
    expect(back.get(tenant)).toBe('acme');
  });

  it('a var declared there after the snapshot arrived adopts the pending entry', async () => {
    const ctx = contextWith(() => traceOnlyHere.set({ spans: [7] }));
    expect(await ask('declare-late', serializeContext(ctx, { format: 'json' }))).toEqual({
      value: { spans: [7] },
      size: 1,
    });
  });
});
