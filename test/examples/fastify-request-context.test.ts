// The @fastify/request-context recipe (examples/fastify-request-context), as a
// user runs it: a real Fastify 5 server with the plugin on loopback, a real
// worker thread behind contextvars/comlink, and serializeContext snapshots.
import { asyncLocalStorage, requestContext } from '@fastify/request-context';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextSerializationError } from '../../dist/index.js';
import { deserializeContext, serializeContext } from '../../dist/serialization/index.js';
import { startServer } from '../../examples/fastify-request-context/server.mjs';
import { thrownBy } from '../support/errors.js';
import { getConcurrently, requestHeaders } from '../support/requests.js';

// The store's keys, declared as TypeScript users of the plugin declare them.
declare module '@fastify/request-context' {
  interface RequestContextData {
    requestId: string;
    user: string;
    tenant: string;
    log: { bindings(): Record<string, unknown> };
  }
}

interface SeenInWorker {
  requestId: string;
  user: string;
  tenant: string;
  logBindings: Record<string, unknown>;
  keys: string[];
}

let server: { url: string; close(): Promise<void> };
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server.close());

describe('@fastify/request-context recipe', () => {
  it('300 concurrent requests: each worker call reads its own request through requestContext.get', async () => {
    const answers = await getConcurrently<{ requestId: string; inWorker: SeenInWorker }>(
      `${server.url}/work`,
      300,
    );
    expect(new Set(answers.map((a) => a.requestId)).size).toBe(300);
    answers.forEach(({ requestId, inWorker }, i) => {
      expect(inWorker).toEqual({
        requestId,
        user: `user-${i}`,
        tenant: `tenant-${i % 7}`,
        // The worker's own logger, bound to the request: the route's stayed behind.
        logBindings: { name: 'worker', reqId: requestId },
        keys: ['log', 'requestId', 'tenant', 'user'],
      });
    });
  });

  it("a route's snapshot restores the store in deserializeContext(...).run", async () => {
    const response = await fetch(`${server.url}/snapshot`, { headers: requestHeaders(1) });
    const { snapshot } = (await response.json()) as { snapshot: string };
    expect(snapshot).not.toContain('"log"');
    expect(requestContext.get('user')).toBeUndefined();
    const seen = await deserializeContext(snapshot).run(async () => {
      await Promise.resolve();
      return {
        user: requestContext.get('user'),
        tenant: requestContext.get('tenant'),
        reqId: requestContext.get('log')?.bindings().reqId,
        requestId: requestContext.get('requestId'),
      };
    });
    expect(seen).toEqual({
      user: 'user-1',
      tenant: 'tenant-1',
      reqId: seen.requestId,
      requestId: expect.stringMatching(/^req-/),
    });
  });

  it('a sent key holding a class instance is refused, naming the store and the key', () => {
    class User {
      name = 'ada';
    }
    const error = thrownBy(() =>
      asyncLocalStorage.run({ user: new User() } as never, () => serializeContext()),
    );
    expect(error).toBeInstanceOf(ContextSerializationError);
    expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_SERIALIZE');
    expect((error as Error).message).toContain("carried store 'fastify.requestContext'");
    expect((error as Error).message).toContain('.user <User>');
  });

  it('an arrived value that is not the sent keys is refused, naming the store', () => {
    const wire = { v: 1, f: 's', e: ['fastify.requestContext', 2, 42] };
    const error = thrownBy(() => deserializeContext(wire).run(() => requestContext.getStore()));
    expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_DESERIALIZE');
    expect((error as ContextSerializationError).varName).toBe('fastify.requestContext');
  });
});
