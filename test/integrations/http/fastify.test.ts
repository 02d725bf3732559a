// The Fastify plugin where Fastify goes on from another async context, and
// with Fastify's own options, encapsulation and registration order.
import { connect } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { describe, expect, it } from 'vitest';
import { ContextVar } from '../../../dist/index.js';
import { requestScope } from '../../../dist/integrations/http/index.js';
import { keepAliveClient, listen } from './support.js';

const requestId = new ContextVar('request_id', { default: 'none' });
const request = keepAliveClient(4);

/** A Fastify app with the scope, whose requests set their id from x-id. */
async function scopedApp(options: FastifyServerOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(options);
  await app.register(requestScope.fastify);
  app.addHook('onRequest', async (req) => {
    requestId.set(String(req.headers['x-id']));
  });
  return app;
}

/** Resolves with the first `count` values `record` is called with. */
function recorder<T>(count: number): { record: (value: T) => void; all: Promise<T[]> } {
  const values: T[] = [];
  let done: (all: T[]) => void = () => {};
  const all = new Promise<T[]>((resolve) => {
    done = resolve;
  });
  return {
    record(value) {
      values.push(value);
      if (values.length === count) done(values);
    },
    all,
  };
}

const hang = () => new Promise<never>(() => {});

describe('requestScope.fastify where Fastify resumes in another async context', () => {
  it('a route timeout (handlerTimeout): onError, the error handler, onSend and onResponse see the id', async () => {
    const app = await scopedApp();
    const late = recorder<string[]>(3);
    app.addHook('onError', async () => late.record(['onError', requestId.get()]));
    app.addHook('onSend', async () => late.record(['onSend', requestId.get()]));
    app.addHook('onResponse', async () => late.record(['onResponse', requestId.get()]));
    app.setErrorHandler((error, _req, reply) => {
      void reply.status(503).send({ id: requestId.get(), code: (error as { code?: string }).code });
    });
    app.get('/slow', { handlerTimeout: 30 }, hang);
    await app.ready();
    const answer = await request(`${await listen(app.server)}/slow`, {
      headers: { 'x-id': 't-1' },
    });
    expect([answer.status, JSON.parse(answer.body)]).toEqual([
      503,
      { id: 't-1', code: 'FST_ERR_HANDLER_TIMEOUT' },
    ]);
    expect(await late.all).toEqual([
      ['onError', 't-1'],
      ['onSend', 't-1'],
      ['onResponse', 't-1'],
    ]);
  });

  it('pipelined requests on one connection: onResponse runs in its own request, not the one before', async () => {
    const app = await scopedApp();
    const late = recorder<[string, string]>(2);
    app.addHook('onResponse', async (req) =>
      late.record([String(req.headers['x-id']), requestId.get()]),
    );
    app.get('/slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return 'slow';
    });
    app.get('/fast', async () => 'fast');
    await app.ready();
    const { port } = new URL(await listen(app.server));
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('data', () => {});
    socket.write(
      'GET /slow HTTP/1.1\r\nHost: x\r\nx-id: first\r\n\r\n' +
        'GET /fast HTTP/1.1\r\nHost: x\r\nx-id: second\r\n\r\n',
    );
    const seen = await late.all;
    socket.destroy();
    expect(seen.sort()).toEqual([
      ['first', 'first'],
      ['second', 'second'],
    ]);
  });

  it('a client that goes away: onRequestAbort sees the id', async () => {
    const app = await scopedApp();
    const aborted = recorder<string>(1);
    const started = recorder<void>(1);
    app.addHook('onRequestAbort', async (_req) => aborted.record(requestId.get()));
    app.get('/hang', () => {
      started.record();
      return hang();
    });
    await app.ready();
    const { port } = new URL(await listen(app.server));
    const socket = connect(Number(port), '127.0.0.1');
    socket.write('GET /hang HTTP/1.1\r\nHost: x\r\nx-id: gone\r\n\r\n');
    await started.all;
    socket.destroy();
    expect(await aborted.all).toEqual(['gone']);
  });

  it('a socket timeout (connectionTimeout, a server option): onTimeout sees the id', async () => {
    const app = await scopedApp({ connectionTimeout: 50 });
    const timedOut = recorder<string>(1);
    app.addHook('onTimeout', async () => timedOut.record(requestId.get()));
    app.get('/hang', hang);
    await app.ready();
    const { port } = new URL(await listen(app.server));
    const socket = connect(Number(port), '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /hang HTTP/1.1\r\nHost: x\r\nx-id: late\r\n\r\n');
    expect(await timedOut.all).toEqual(['late']);
    socket.destroy();
  });
});

describe('requestScope.fastify with the rest of Fastify', () => {
  it("keeps Fastify's server options usable: requestIdHeader, bodyLimit", async () => {
    const app = Fastify({ requestIdHeader: 'x-request-id', bodyLimit: 64 });
    await app.register(requestScope.fastify);
    app.addHook('onRequest', async (req) => {
      requestId.set(req.id); // Fastify's own id, from x-request-id
    });
    app.post('/', async () => ({ id: requestId.get() }));
    app.setErrorHandler((error, _req, reply) => {
      void reply
        .status((error as { statusCode?: number }).statusCode ?? 500)
        .send({ id: requestId.get() });
    });
    await app.ready();
    const url = await listen(app.server);
    const post = (id: string, body: string) =>
      request(url, {
        method: 'POST',
        headers: { 'x-request-id': id, 'content-type': 'application/json' },
        body: [body.slice(0, 2), body.slice(2)],
      });
    const small = await post('small', '{"a":1}');
    const large = await post('large', JSON.stringify({ a: 'x'.repeat(100) }));
    expect([small.status, JSON.parse(small.body)]).toEqual([200, { id: 'small' }]);
    expect([large.status, JSON.parse(large.body)]).toEqual([413, { id: 'large' }]);
  });

  it('reaches routes of encapsulated plugins, registered before or after it, and the 404 handler', async () => {
    const app = Fastify();
    const route = async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return { id: requestId.get() };
    };
    await app.register(async (child) => {
      child.get('/before', route);
    });
    // Not awaited: Fastify orders plugins and hooks as they are declared.
    void app.register(requestScope.fastify);
    app.addHook('onRequest', async (req) => {
      requestId.set(String(req.headers['x-id']));
    });
    await app.register(async (child) => {
      child.get('/after', route);
    });
    app.setNotFoundHandler(async (_req, reply) => reply.status(404).send(await route()));
    await app.ready();
    const url = await listen(app.server);
    const paths = ['/before', '/after', '/missing'];
    const answers = await Promise.all(
      Array.from({ length: 90 }, (_, i) => {
        const path = paths[i % 3] as string;
        return request(`${url}${path}`, { headers: { 'x-id': `${path}-${i}` } }).then((a) => ({
          sent: `${path}-${i}`,
          got: (JSON.parse(a.body) as { id: string }).id,
        }));
      }),
    );
    expect(answers.filter(({ sent, got }) => sent !== got)).toEqual([]);
  });

  it('refuses bad options when the plugin loads', async () => {
    const app = Fastify();
    void app.register(requestScope.fastify, { header: 'x-context' });
    await expect(app.ready()).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
  });
});
