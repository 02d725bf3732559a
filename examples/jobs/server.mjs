// An HTTP server: each request runs in its own context (requestScope), sets
// its request id and enqueues a welcome email. The job carries the request's
// context to the handler, on every attempt.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { requestScope } from 'contextvars/http';
import { logLine, requestId } from './context.mjs';

export function startServer({ boss, log }) {
  const scope = requestScope();
  async function signUp(request, response) {
    requestId.set(request.headers['x-request-id'] ?? randomUUID());
    const user = new URL(request.url, 'http://localhost').searchParams.get('user');
    // Every third user's email fails once, to show the retry in the same context.
    const flaky = Number(user.split('-')[1]) % 3 === 0;
    const jobId = await boss.send('emails', { to: `${user}@example.com`, flaky });
    log(user, logLine(`signed up ${user}, welcome email queued as job ${jobId}`));
    response.writeHead(202, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ requestId: requestId.get(), jobId }));
  }
  const server = createServer((request, response) =>
    scope(request, response, () => signUp(request, response)),
  );
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => server.close(done)),
      });
    });
  });
}
