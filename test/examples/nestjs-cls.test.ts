// The nestjs-cls recipe (examples/nestjs-cls), as a user runs it: a real Nest
// application (Fastify adapter, ClsModule middleware) on loopback, a real
// worker thread running a Nest application context behind
// contextvars/comlink, and serializeContext snapshots.
import { CLS_ID, CLS_REQ, ClsServiceManager, type ClsStore } from 'nestjs-cls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContextSerializationError } from '../../dist/index.js';
import { deserializeContext, serializeContext } from '../../dist/serialization/index.js';
import { startApp } from '../../examples/nestjs-cls/app.mjs';
import { thrownBy } from '../support/errors.js';
import { getConcurrently, requestHeaders } from '../support/requests.js';

interface SeenInWorker {
  id: string;
  user: string;
  tenantId: string;
  storeKeys: string[];
}

// The store's keys, declared as TypeScript users of nestjs-cls declare them.
interface AppStore extends ClsStore {
  user?: string;
  tenant?: { id: string };
  logger?: unknown;
}

const cls = ClsServiceManager.getClsService<AppStore>();
let app: { url: string; close(): Promise<void> };
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

describe('nestjs-cls recipe', () => {
  it('300 concurrent requests: ClsService.get and getId in the worker answer for its own request', async () => {
    const answers = await getConcurrently<{ id: string; inWorker: SeenInWorker }>(
      `${app.url}/work`,
      300,
    );
    expect(new Set(answers.map((a) => a.id)).size).toBe(300);
    answers.forEach(({ id, inWorker }, i) => {
      expect(inWorker).toEqual({
        id,
        user: `user-${i}`,
        tenantId: `tenant-${i % 7}`,
        // The request (CLS_REQ) stayed behind.
        storeKeys: ['user', 'tenant', 'Symbol(nestjs-cls:CLS_ID)'],
      });
    });
  });

  it("a route's snapshot restores the store in deserializeContext(...).run", async () => {
    const response = await fetch(`${app.url}/snapshot`, { headers: requestHeaders(3) });
    const { snapshot } = (await response.json()) as { snapshot: string };
    expect(cls.isActive()).toBe(false);
    const seen = await deserializeContext(snapshot).run(async () => {
      await Promise.resolve();
      return {
        id: cls.getId(),
        user: cls.get('user'),
        tenantId: cls.get('tenant.id'),
        request: cls.get(CLS_REQ),
      };
    });
    expect(seen).toEqual({
      id: expect.stringMatching(/^\w+$/),
      user: 'user-3',
      tenantId: 'tenant-3',
      request: undefined,
    });
  });

  it('a store with no id travels without one', () => {
    const wire = cls.runWith({ user: 'ada' }, () => serializeContext());
    const seen = deserializeContext(structuredClone(wire)).run(() => cls.get());
    expect(seen).toEqual({ user: 'ada' });
    expect(Object.getOwnPropertySymbols(seen)).toEqual([]);
  });

  it('a value under a string key that cannot travel is refused, naming the store and the key', () => {
    class Logger {
      level = 'info';
    }
    const store = { [CLS_ID]: 'id-1', logger: new Logger() };
    const error = thrownBy(() => cls.runWith(store, () => serializeContext()));
    expect(error).toBeInstanceOf(ContextSerializationError);
    expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_SERIALIZE');
    expect((error as Error).message).toContain("carried store 'nestjs-cls'");
    expect((error as Error).message).toContain('.values.logger <Logger>');
  });

  it('an arrived value that is not { id, values } is refused, naming the store', () => {
    for (const junk of [42, null, { id: 'x' }, { values: ['a'] }]) {
      const wire = { v: 1, f: 's', e: ['nestjs-cls', 2, junk] };
      const error = thrownBy(() => deserializeContext(wire).run(() => cls.get()));
      expect((error as ContextSerializationError).code).toBe('ERR_CONTEXT_DESERIALIZE');
      expect((error as ContextSerializationError).varName).toBe('nestjs-cls');
    }
  });
});
