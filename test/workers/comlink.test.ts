import { AsyncLocalStorage } from 'node:async_hooks';
import { Worker } from 'node:worker_threads';
import * as Comlink from 'comlink';
import nodeAdapter from 'comlink/dist/umd/node-adapter.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextVar, carry, createTask } from '../../dist/index.js';
import {
  type Remote,
  proxy as reexportedProxy,
  releaseProxy,
  wrap,
} from '../../dist/workers/comlink.js';
import { rejectionOf } from '../support/errors.js';

interface Api {
  counter: number;
  hash(text: string): string;
  slowEcho(ms: number): Promise<string>;
  setAndGet(value: string): string;
  fail(): never;
  failLater(): Promise<never>;
  callBack(callback: (seen: string) => string): Promise<[string, string]>;
  nested: { deep: { who(): string } };
}

const requestId = new ContextVar<string>('request_id', { default: 'none' });
// CommonJS `module.exports = nodeEndpoint`, typed as `export default`.
const nodeEndpoint = nodeAdapter as unknown as (endpoint: Worker) => Comlink.Endpoint;
const fixture = (name: string) => new URL(`fixtures/${name}`, import.meta.url);
let worker: Worker;
let api: Remote<Api>;
const handlersBefore = new Map(Comlink.transferHandlers);

beforeAll(() => {
  worker = new Worker(fixture('comlink-worker.mjs'));
  api = wrap<Api>(worker);
});

afterAll(async () => {
  await worker.terminate();
});

describe('contextvars/comlink', () => {
  it("runs each proxied call in a copy of the caller's context at the time of the call", async () => {
    expect(
      await createTask(async () => {
        requestId.set('r-1');
        return api.hash('x');
      }),
    ).toBe('r-1:x');
    expect(await api.hash('y')).toBe('none:y');
    expect(
      await createTask(async () => {
        requestId.set('r-nested');
        // comlink types nested plain objects as promises; at run time the path chains.
        return (
          api as unknown as { nested: { deep: { who(): Promise<string> } } }
        ).nested.deep.who();
      }),
    ).toBe('r-nested');
  });

  it('keeps concurrent calls apart, through awaits on the other side', async () => {
    const ids = Array.from({ length: 20 }, (_, i) => `call-${i}`);
    const seen = await Promise.all(
      ids.map((id, i) =>
        createTask(async () => {
          requestId.set(id);
          return api.slowEcho(20 - i);
        }),
      ),
    );
    expect(seen).toEqual(ids);
  });

  it("keeps a call's changes from the caller and from later calls", async () => {
    const result = await createTask(async () => {
      requestId.set('caller');
      const changed = await api.setAndGet('changed-remotely');
      return [changed, requestId.get(), await api.hash('after')];
    });
    expect(result).toEqual(['changed-remotely', 'caller', 'caller:after']);
  });

  it('keeps the class, code and own primitive properties of thrown errors, sync and async', async () => {
    const error = (await rejectionOf(api.fail())) as Error & Record<string, unknown>;
    expect(error).toBeInstanceOf(RangeError);
    expect([error.name, error.message, error.code, error.attempt]).toEqual([
      'RangeError',
      'nope',
      'E_COMLINK',
      2,
    ]);
    expect(error.stack).toMatch(/comlink-worker\.mjs/);
    const later = (await rejectionOf(api.failLater())) as Error & { code: string };
    expect([later.message, later.code]).toEqual(['later', 'E_LATER']);
  });

  it('rejects a call whose context cannot be rebuilt over there, and the worker lives on', async () => {
    const fragile = new ContextVar<string>('comlink_fragile', {
      codec: { encode: (value: string) => value, decode: (raw: unknown) => String(raw) },
    });
    const error = await createTask(async () => {
      fragile.set('needs decoding');
      return rejectionOf(api.hash('x'));
    });
    expect(error).toMatchObject({ code: 'ERR_CONTEXT_DESERIALIZE' });
    expect(await api.hash('still here')).toBe('none:still here');
  });

  it('rejects a call whose carried store cannot be restored over there, and the worker lives on', async () => {
    const store = new AsyncLocalStorage<string>();
    const unregister = carry(store, {
      name: 'comlink_fragile_store',
      codec: { encode: (value: string) => value, decode: (raw: unknown) => String(raw) },
    });
    try {
      const error = await store.run('needs decoding', () => rejectionOf(api.hash('x')));
      expect(error).toMatchObject({
        code: 'ERR_CONTEXT_DESERIALIZE',
        varName: 'comlink_fragile_store',
      });
      expect(await api.hash('still here')).toBe('none:still here');
    } finally {
      unregister();
    }
  });

  it('releases a proxy without sending the context: nothing to refuse, no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const other = new Worker(fixture('comlink-worker.mjs'));
    try {
      const remote = wrap<Api>(other);
      const cannotLeave = new ContextVar<() => void>('comlink_unserializable');
      await createTask(async () => {
        cannotLeave.set(() => undefined);
        await remote[releaseProxy]();
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await other.terminate();
    }
  });

  it('gets and sets properties as comlink does', async () => {
    expect(await api.counter).toBe(0);
    // A set is a message like any other: the get after it sees it.
    (api as unknown as { counter: number }).counter = 5;
    expect(await api.counter).toBe(5);
  });

  it('keeps Comlink.proxy callbacks working, from the user’s own comlink import', async () => {
    const seenOnMain: string[] = [];
    const result = await createTask(async () => {
      requestId.set('r-callback');
      return api.callBack(
        Comlink.proxy((seenRemotely: string) => {
          seenOnMain.push(requestId.get());
          return `main got ${seenRemotely}`;
        }),
      );
    });
    expect(result).toEqual(['r-callback', 'main got r-callback']);
    // The callback runs on this side in the context current when the proxy was sent.
    expect(seenOnMain).toEqual(['r-callback']);
    expect(reexportedProxy).toBe(Comlink.proxy);
  });

  it('require() and import give the contextual wrap and expose on every Node, and the rest of comlink as is', async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const required = require('contextvars/comlink') as Record<string, unknown>;
    const plainRequired = require('comlink') as Record<string, unknown>;
    const imported = (await import('contextvars/comlink')) as Record<string, unknown>;
    for (const ours of [required, imported]) {
      expect(ours.wrap).not.toBe(plainRequired.wrap);
      expect(ours.expose).not.toBe(plainRequired.expose);
      expect(ours.proxy).toBe(plainRequired.proxy);
      expect(ours.transferHandlers).toBe(plainRequired.transferHandlers);
      expect(Object.keys(ours)).not.toContain('module.exports');
    }
  });

  it('replaces no global comlink handler: plain comlink in the same process is unaffected', async () => {
    expect(new Map(Comlink.transferHandlers)).toEqual(handlersBefore);
    const plainWorker = new Worker(fixture('plain-comlink-worker.mjs'));
    try {
      const plain = Comlink.wrap<{ add(a: number, b: number): number; fail(): never }>(
        nodeEndpoint(plainWorker),
      );
      expect(await plain.add(2, 3)).toBe(5);
      const error = (await rejectionOf(plain.fail())) as Error;
      expect(error.message).toBe('plain failure');
    } finally {
      await plainWorker.terminate();
    }
  });
});
