// An HTTP server whose handler puts the request's id, user and tenant in
// context and offloads password hashing to a thread pool: ContextPool, or
// bare piscina for comparison (same worker module, same options).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { bind } from 'contextvars';
import { ContextPool } from 'contextvars/workers';
import { Piscina } from 'piscina';
import { requestId, tenant, user } from './context.mjs';

export function startServer({ pool: kind = 'contextvars', threads = 2, iterations = 20_000 } = {}) {
  const options = {
    filename: new URL('./worker.mjs', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
  };
  const pool = kind === 'piscina' ? new Piscina(options) : new ContextPool(options);
  // ContextPool's runInContext carries the caller's context; piscina's run cannot.
  const offload = kind === 'piscina' ? (task) => pool.run(task) : (task) => pool.runInContext(task);

  async function handle(request, response) {
    // Each request runs in its own copy of the startup context (bind), so these
    // sets are the request's alone.
    requestId.set(request.headers['x-request-id'] ?? randomUUID());
    user.set(request.headers['x-user'] ?? 'anonymous');
    tenant.set(request.headers['x-tenant'] ?? 'public');
    const password = new URL(request.url, 'http://localhost').searchParams.get('password') ?? '';
    try {
      const { hash, workerMs } = await offload({ password, salt: tenant.get(), iterations });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ requestId: requestId.get(), hash, workerMs }));
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
