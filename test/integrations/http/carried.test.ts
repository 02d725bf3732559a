// A carried store arriving in a context header: read once, when the request
// arrives (DESIGN, "Carried entries are decoded once"). A codec that refuses
// is a refusal of the header; hooks that enter the request again restore the
// same store object.
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { afterAll, describe, expect, it } from 'vitest';
import { carry } from '../../../dist/index.js';
import {
  contextHeaders,
  type RequestScopeOptions,
  requestScope,
} from '../../../dist/integrations/http/index.js';
import { keepAliveClient, listen } from './support.js';

interface Session {
  user: string;
  poison?: boolean;
  mark?: string;
}

const session = new AsyncLocalStorage<Session>();
/** Every value the store's codec was asked to decode, in order. */
const decoded: unknown[] = [];
afterAll(
  carry(session, {
    name: 'http.session',
    codec: {
      encode: (value) => ({ ...value }),
      decode: (raw) => {
        decoded.push(raw);
        if ((raw as Session).poison) throw new Error('a poisoned session');
        return { ...(raw as Session) };
      },
    },
  }),
);

const request = keepAliveClient(4);
const link = { header: 'x-context', key: randomBytes(32) } as const;
const headerFor = (value: Session) => session.run(value, () => contextHeaders(link));
const who = () => ({ user: session.getStore()?.user ?? 'nobody' });

const apps: Record<string, (scope: RequestScopeOptions) => Promise<Server>> = {
  async express(scope) {
    const app = express();
    app.use(requestScope(scope));
    app.get('/who', (_req, res) => {
      res.json(who());
    });
    app.use(
      (
        error: Error & { status?: number },
        _req: express.Request,
        res: express.Response,
        _next: express.NextFunction,
      ) => {
        res.status(error.status ?? 500).json({ message: error.message });
      },
    );
    return createServer(app);
  },
  async koa(scope) {
    const app = new Koa();
    app.use(requestScope.koa(scope));
    app.use((ctx) => {
      ctx.body = who();
    });
    return createServer(app.callback());
  },
  async fastify(scope) {
    const app = Fastify();
    await app.register(requestScope.fastify, scope);
    app.get('/who', async () => who());
    await app.ready();
    return app.server;
  },
};

describe.each(Object.keys(apps))('%s: a carried store in the context header', (name) => {
  const serve = async (scope: RequestScopeOptions) =>
    listen(await (apps[name] as (scope: RequestScopeOptions) => Promise<Server>)(scope));

  it('arrives: the handler finds it', async () => {
    const url = await serve(link);
    const answer = await request(`${url}/who`, { headers: headerFor({ user: 'ada' }) });
    expect([answer.status, JSON.parse(answer.body)]).toEqual([200, { user: 'ada' }]);
  });

  it("a store's codec that refuses refuses the header: 400, naming the store", async () => {
    const url = await serve(link);
    const headers = headerFor({ user: 'eve', poison: true });
    const answer = await request(`${url}/who`, { headers });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/x-context header was refused/);
    expect(answer.body).toMatch(/http\.session/);
  });

  it("with onInvalid: 'ignore', a store's codec that refuses leaves the request unseeded", async () => {
    const url = await serve({ ...link, onInvalid: 'ignore' });
    const headers = headerFor({ user: 'eve', poison: true });
    const answer = await request(`${url}/who`, { headers });
    expect([answer.status, JSON.parse(answer.body)]).toEqual([200, { user: 'nobody' }]);
  });
});

/** Collects values; `all` settles once `count` have come. */
function collect<T>(count: number) {
  const values: T[] = [];
  let settle: (values: T[]) => void = () => {};
  const all = new Promise<T[]>((resolve) => {
    settle = resolve;
  });
  const add = (value: T) => {
    values.push(value);
    if (values.length === count) settle(values);
  };
  return { add, all };
}

describe('requestScope.fastify entering a request again', () => {
  it('restores the same store object: what preHandler writes is seen by onResponse (pipelined) and onError (handlerTimeout); one decode per request', async () => {
    const app = Fastify();
    await app.register(requestScope.fastify, link);
    const id = (req: { headers: Record<string, unknown> }) => String(req.headers['x-id']);
    app.addHook('preHandler', async (req) => {
      const current = session.getStore();
      if (current !== undefined) current.mark = `pre-${id(req)}`;
    });
    const responses = collect<[string, string | undefined]>(4);
    const errors = collect<[string, string | undefined]>(1);
    app.addHook('onResponse', async (req) => responses.add([id(req), session.getStore()?.mark]));
    app.addHook('onError', async (req) => errors.add([id(req), session.getStore()?.mark]));
    app.get('/wait', async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return 'waited';
    });
    app.get('/fast', async () => 'fast');
    app.get('/slow', { handlerTimeout: 30 }, () => new Promise<never>(() => {}));
    await app.ready();
    const url = await listen(app.server);
    const before = decoded.length;

    // Two requests pipelined on one connection: the second's onResponse runs
    // from the first's socket events.
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    socket.on('data', () => {});
    const raw = (path: string, who: string) =>
      `GET ${path} HTTP/1.1\r\nHost: x\r\nx-id: ${who}\r\n` +
      `x-context: ${headerFor({ user: who })['x-context']}\r\n\r\n`;
    socket.write(raw('/wait', 'first') + raw('/fast', 'second'));
    const timedOut = await request(`${url}/slow`, {
      headers: { ...headerFor({ user: 'third' }), 'x-id': 'third' },
    });
    const plain = await request(`${url}/fast`, {
      headers: { ...headerFor({ user: 'fourth' }), 'x-id': 'fourth' },
    });
    const seen = await responses.all;
    socket.destroy();

    expect([timedOut.status, plain.status]).toEqual([503, 200]);
    expect(seen.sort()).toEqual([
      ['first', 'pre-first'],
      ['fourth', 'pre-fourth'],
      ['second', 'pre-second'],
      ['third', 'pre-third'],
    ]);
    expect(await errors.all).toEqual([['third', 'pre-third']]);
    expect(decoded.length - before).toBe(4);
  });
});
