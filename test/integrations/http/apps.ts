// The same small service written for Express, Koa and Fastify: each request
// sets its id from the x-id header right after the scope, then reads it back
// along every path the tests exercise.
import { createServer, type Server } from 'node:http';
import { PassThrough } from 'node:stream';
import express from 'express';
import Fastify, { type FastifyServerOptions } from 'fastify';
import Koa from 'koa';
import { ContextVar } from '../../../dist/index.js';
import { type RequestScopeOptions, requestScope } from '../../../dist/integrations/http/index.js';
import type { ContextPool } from '../../../dist/workers/index.js';
import { jitter } from './support.js';

export const requestId = new ContextVar('request_id', { default: 'none' });
export const tenant = new ContextVar('tenant', { default: 'no-tenant' });

export interface AppOptions {
  scope?: RequestScopeOptions;
  pool: ContextPool;
  /** Receives the id seen in framework hooks that run after the handler (id header, seen). */
  late?: (sent: string, seen: string) => void;
  fastify?: FastifyServerOptions;
}

/** What a request sees of its id after awaits, a timer, an immediate and a pool task. */
async function journey(pool: ContextPool) {
  const seen = [requestId.get()];
  await jitter();
  seen.push(requestId.get());
  await new Promise((resolve) => setImmediate(resolve));
  seen.push(requestId.get());
  const inWorker = await pool.runInContext<{ requestId: string; tenant: string }>(undefined);
  seen.push(inWorker.requestId, requestId.get());
  return { seen, tenant: tenant.get(), workerTenant: inWorker.tenant };
}

/** Writes the id five times, awaiting between chunks. */
async function streamIds(out: NodeJS.WritableStream) {
  for (let i = 0; i < 5; i++) {
    await jitter();
    out.write(`${requestId.get()}\n`);
  }
  out.end();
}

async function failAfterAwait(): Promise<never> {
  await jitter();
  throw Object.assign(new Error('boom'), { status: 500 });
}

const header = (value: string | string[] | undefined) => String(value);

export function expressApp({ scope, pool }: AppOptions): Server {
  const app = express();
  app.use(requestScope(scope));
  app.use((req, _res, next) => {
    requestId.set(header(req.headers['x-id']));
    next();
  });
  app.use(express.json());
  app.get('/id', async (_req, res) => {
    res.json(await journey(pool));
  });
  app.post('/body', async (req, res) => {
    await jitter();
    res.json({ id: requestId.get(), n: (req.body as { n: number }).n });
  });
  app.get('/throw', failAfterAwait);
  app.get('/stream', (_req, res) => {
    void streamIds(res);
  });
  app.use(
    (
      error: Error & { status?: number },
      _req: express.Request,
      res: express.Response,
      _next: express.NextFunction,
    ) => {
      res.status(error.status ?? 500).json({ id: requestId.get(), message: error.message });
    },
  );
  return createServer(app);
}

export function koaApp({ scope, pool }: AppOptions): Server {
  const app = new Koa();
  app.use(requestScope.koa(scope));
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = (error as { status?: number }).status ?? 500;
      ctx.body = { id: requestId.get(), message: (error as Error).message };
    }
  });
  app.use(async (ctx, next) => {
    requestId.set(header(ctx.get('x-id')));
    await next();
  });
  app.use(async (ctx) => {
    if (ctx.path === '/id') ctx.body = await journey(pool);
    else if (ctx.path === '/body') {
      let text = '';
      for await (const chunk of ctx.req) text += chunk;
      await jitter();
      ctx.body = { id: requestId.get(), n: (JSON.parse(text) as { n: number }).n };
    } else if (ctx.path === '/throw') await failAfterAwait();
    else if (ctx.path === '/stream') {
      const out = new PassThrough();
      ctx.type = 'text/plain';
      ctx.body = out;
      void streamIds(out);
    }
  });
  return createServer(app.callback());
}

export async function fastifyApp({ scope, pool, late, fastify }: AppOptions): Promise<Server> {
  const app = Fastify(fastify);
  await app.register(requestScope.fastify, scope ?? {});
  app.addHook('onRequest', async (request) => {
    requestId.set(header(request.headers['x-id']));
  });
  if (late !== undefined) {
    app.addHook('onResponse', async (request) =>
      late(header(request.headers['x-id']), requestId.get()),
    );
  }
  app.get('/id', async () => journey(pool));
  app.post('/body', async (request) => {
    await jitter();
    return { id: requestId.get(), n: (request.body as { n: number }).n };
  });
  app.get('/throw', failAfterAwait);
  app.get('/stream', (_request, reply) => {
    const out = new PassThrough();
    reply.type('text/plain').send(out);
    void streamIds(out);
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    void reply
      .status(error.statusCode ?? 500)
      .send({ id: requestId.get(), message: error.message });
  });
  await app.ready();
  return app.server;
}

export const frameworks = {
  express: expressApp,
  koa: koaApp,
  fastify: fastifyApp,
} as const;
