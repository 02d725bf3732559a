// An HTTP server whose handler puts the request's id, user and tenant in
// context and offloads password hashing to a ContextPool.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { bind } from 'contextvars';
import { ContextPool } from 'contextvars/workers';
import { requestId, tenant, user } from './context.mjs';

export function startServer({ threads = 2, iterations = 20_000 } = {}) {
  const pool = new ContextPool({
    filename: new URL('./worker.mjs', import.meta.url).href,
    maxThreads: threads,
  });

  async function handle(request, response) {
    // Each request runs in its own copy of the startup context (bind), so these
    // sets are the request's alone.
    requestId.set(request.headers['x-request-id'] ?? randomUUID());
    user.set(request.headers['x-user'] ?? 'anonymous');
    tenant.set(request.headers['x-tenant'] ?? 'public');
    const password = new URL(request.url, 'http://localhost').searchParams.get('password') ?? '';
    try {
      const hash = await pool.runInContext({ password, salt: tenant.get(), iterations });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ requestId: requestId.get(), hash }));
    } catch (error) {
      response.writeHead(500, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ requestId: requestId.get(), error: error.message }));
    }
  }

  const server = createServer(bind(handle));
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        pool,
        close: async () => {
          await new Promise((done) => server.close(done));
          await pool.destroy();
        },
      });
    });
  });
}
