// Listeners a request registers on its response (access logs, metrics) run in
// that request's context: pipelined connections, aborted requests and Koa,
// which writes its responses outside the middleware chain.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { ContextVar } from '../../../dist/index.js';
import { requestScope } from '../../../dist/integrations/http/index.js';
import { listen } from './support.js';

const requestId = new ContextVar('request_id', { default: 'none' });

/** What the response listeners saw: [id the request sent, id current in the listener]. */
type Sighting = readonly [event: string, sent: string, seen: string];

/** Registers the access-log listeners a handler would, recording what they see. */
function watch(res: ServerResponse, sent: string, seen: Sighting[]): void {
  for (const event of ['finish', 'close']) {
    res.on(event, () => seen.push([event, sent, requestId.get()]));
  }
}

/** Answers after a random few milliseconds, so pipelined answers queue up. */
const answerSoon = (end: () => void) => setTimeout(end, Math.random() * 3);

function expressServer(seen: Sighting[]): Server {
  const app = express();
  app.use(requestScope());
  app.use((req, res) => {
    const sent = String(req.headers['x-id']);
    requestId.set(sent);
    watch(res, sent, seen);
    answerSoon(() => res.end(sent));
  });
  return createServer(app);
}

function koaServer(seen: Sighting[]): Server {
  const app = new Koa();
  app.use(requestScope.koa());
  app.use(async (ctx) => {
    const sent = String(ctx.get('x-id'));
    requestId.set(sent);
    watch(ctx.res, sent, seen);
    await new Promise<void>((resolve) => answerSoon(resolve));
    ctx.body = sent;
  });
  return createServer(app.callback());
}

async function fastifyServer(seen: Sighting[]): Promise<Server> {
  const app = Fastify();
  await app.register(requestScope.fastify);
  app.get('/', async (request, reply) => {
    const sent = String(request.headers['x-id']);
    requestId.set(sent);
    watch(reply.raw, sent, seen);
    await new Promise<void>((resolve) => answerSoon(resolve));
    return sent;
  });
  await app.ready();
  return app.server;
}

const servers = { express: expressServer, koa: koaServer, fastify: fastifyServer };

const CONNECTIONS = 200;
const PIPELINED = 6;

const aborts = (connection: number) => connection % 7 === 3;

/**
 * One connection pipelining its requests; an aborting one goes away as soon
 * as the first answer starts to arrive, with the rest still queued. Resolves
 * when the client side has closed.
 */
function pipeline(port: number, connection: number): Promise<void> {
  const socket: Socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  let received = '';
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    if (aborts(connection)) socket.destroy();
    else if (received.split('HTTP/1.1 200').length - 1 === PIPELINED) socket.end();
  });
  let requests = '';
  for (let i = 0; i < PIPELINED; i++) {
    requests += `GET / HTTP/1.1\r\nHost: x\r\nx-id: c${connection}-r${i}\r\n\r\n`;
  }
  socket.write(requests);
  return new Promise((resolve) => socket.on('close', () => resolve()));
}

describe('response listeners run in their request context', () => {
  it.each(Object.keys(servers) as (keyof typeof servers)[])(
    '%s: finish and close listeners, pipelined connections, some aborted: no wrong context',
    async (framework) => {
      const seen: Sighting[] = [];
      const server = await servers[framework](seen);
      const serverSockets: Promise<void>[] = [];
      server.on('connection', (socket: Socket) => {
        serverSockets.push(new Promise((resolve) => socket.on('close', () => resolve())));
      });
      const { port } = new URL(await listen(server));
      const clients = Array.from({ length: CONNECTIONS }, (_, c) => pipeline(Number(port), c));
      await Promise.all(clients);
      await Promise.all(serverSockets);
      // Sockets closed; the responses' own close events follow on the next ticks.
      await new Promise((resolve) => setImmediate(resolve));
      const wrong = seen.filter(([, sent, current]) => sent !== current);
      const completed =
        Array.from({ length: CONNECTIONS }, (_, c) => c).filter((c) => !aborts(c)).length *
        PIPELINED;
      expect(seen.filter(([event]) => event === 'finish').length).toBeGreaterThanOrEqual(completed);
      expect(seen.length).toBeGreaterThanOrEqual(2 * completed);
      expect(wrong).toEqual([]);
    },
  );
});

describe("Koa's error handling runs in the request's context", () => {
  it("the app's error event and the error response see the request's vars, header refusals included", async () => {
    const app = new Koa();
    const logged: [string, string][] = [];
    app.on('error', (error: Error) => logged.push([error.message, requestId.get()]));
    app.use(requestScope.koa({ header: 'x-context', key: 'k', onInvalid: 'refuse' }));
    app.use(async (ctx) => {
      requestId.set(String(ctx.get('x-id')));
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error(`failed ${requestId.get()}`);
    });
    const url = await listen(createServer(app.callback()));
    const answers = await Promise.all(
      ['a', 'b', 'c'].map((id) => fetch(url, { headers: { 'x-id': id } })),
    );
    const refused = await fetch(url, { headers: { 'x-id': 'd', 'x-context': 'forged' } });
    expect(answers.map((answer) => answer.status)).toEqual([500, 500, 500]);
    expect(refused.status).toBe(400);
    expect(logged.slice(0, 3).sort()).toEqual([
      ['failed a', 'a'],
      ['failed b', 'b'],
      ['failed c', 'c'],
    ]);
    expect(logged[3]?.[1]).toBe('none');
    expect(logged).toHaveLength(4);
  });

  it('an error-handling middleware placed before the scope still sees the errors after it', async () => {
    const app = new Koa();
    app.silent = true;
    const handled: string[] = [];
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        handled.push((error as Error).message);
        ctx.status = 403;
        ctx.body = { error: (error as Error).message };
      }
    });
    app.use(requestScope.koa());
    app.use(async () => {
      throw new Error('not allowed');
    });
    const answer = await fetch(await listen(createServer(app.callback())));
    expect([answer.status, await answer.json()]).toEqual([403, { error: 'not allowed' }]);
    expect(handled).toEqual(['not allowed']);
  });
});
