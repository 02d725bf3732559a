// A Fastify server with @fastify/request-context: a hook puts the user and
// tenant in the request's store, a route hands work to a worker thread
// through contextvars/comlink, another returns a snapshot (what a queue job
// or an outgoing call would carry).
import { Worker } from 'node:worker_threads';
import { fastifyRequestContext } from '@fastify/request-context';
import { wrap } from 'contextvars/comlink';
import { serializeContext } from 'contextvars/serialization';
import Fastify from 'fastify';
import pino from 'pino';
import { carryRequestContext } from './carry.mjs';

const logger = pino({ level: 'warn' }); // info would log every request
carryRequestContext(logger);

/** Starts the server on a loopback port; resolves to its URL and a `close()`. */
export async function startServer() {
  const worker = new Worker(new URL('./worker.mjs', import.meta.url));
  const api = wrap(worker);
  const app = Fastify({ loggerInstance: logger });
  await app.register(fastifyRequestContext, {
    // The store holds the request's logger: it must not travel, and does not.
    defaultStoreValues: (request) => ({ requestId: request.id, log: request.log }),
  });
  app.addHook('onRequest', async (request) => {
    request.requestContext.set('user', request.headers['x-user'] ?? 'anonymous');
    request.requestContext.set('tenant', request.headers['x-tenant'] ?? 'public');
  });
  app.get('/work', async (request) => ({
    requestId: request.id,
    inWorker: await api.describeRequest(),
  }));
  app.get('/snapshot', async () => ({ snapshot: serializeContext(undefined, { format: 'json' }) }));

  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      await worker.terminate();
    },
  };
}
