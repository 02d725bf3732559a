// A Fastify service whose every log line, in the main thread and in the pool's
// workers, carries the request's id once: Fastify's own id, kept in a var.
import { pathToFileURL } from 'node:url';
import { requestScope } from 'contextvars/http';
import { ContextPool } from 'contextvars/workers';
import Fastify from 'fastify';
import { requestId, tenant } from './context.mjs';
import { log } from './log.mjs';

export async function startServer({ port = 0, threads = 2, iterations = 5_000 } = {}) {
  const pool = new ContextPool({
    filename: new URL('./hash.mjs', import.meta.url).href,
    maxThreads: threads,
  });
  const app = Fastify({
    loggerInstance: log,
    // Fastify takes the caller's x-request-id, or makes an id.
    requestIdHeader: 'x-request-id',
    // Fastify would bind reqId to each request's logger, and the mixin writes
    // it too: bind nothing (one reqId per line) and hand the id to the mixin,
    // which also covers the line Fastify logs before onRequest.
    childLoggerFactory(logger, { reqId }, options) {
      const child = logger.child({}, options);
      child.reqId = reqId;
      return child;
    },
  });
  await app.register(requestScope.fastify);
  app.addHook('onRequest', async (request) => {
    requestId.set(request.id); // one id: Fastify's, now also the context's
    tenant.set(request.headers['x-tenant'] ?? 'public');
  });
  app.get('/hash', async (request) => {
    log.info('hashing'); // the module logger: no request object needed
    const digest = await pool.runInContext({ password: request.query.password, iterations });
    request.log.info('hashed'); // Fastify's request logger: the same single reqId
    return { requestId: requestId.get(), digest };
  });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    url: `http://127.0.0.1:${app.server.address().port}`,
    close: async () => {
      await app.close();
      await pool.destroy();
    },
  };
}

// `node server.mjs`: serve, print the URL on stderr, stop when stdin closes.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const server = await startServer({ port: Number(process.env.PORT ?? 0) });
  process.stderr.write(`${server.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => server.close());
}
