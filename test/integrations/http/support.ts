import { Agent, request as httpRequest, type OutgoingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll } from 'vitest';

/** Starts `server` on a loopback port; it is closed when the file's tests are done. */
export async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A keep-alive client: requests share at most `sockets` connections. */
export function keepAliveClient(sockets = 8) {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  afterAll(() => agent.destroy());
  return (url: string, init: RequestInit = {}) =>
    new Promise<Answer>((resolve, reject) => {
      const req = httpRequest(
        url,
        { agent, method: init.method ?? 'GET', headers: init.headers },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (typeof init.body !== 'object') {
        req.end(init.body);
        return;
      }
      // Headers first, then each part after a pause: the server reads the body
      // from later socket events, as for any upload that is not tiny.
      req.flushHeaders();
      void (async () => {
        for (const part of init.body as string[]) {
          await jitter();
          req.write(part);
        }
        req.end();
      })();
    });
}

export interface RequestInit {
  method?: string;
  headers?: OutgoingHttpHeaders;
  /** The body, or its parts, sent apart with pauses between them. */
  body?: string | readonly string[];
}

/** Settles after a random few milliseconds, so concurrent requests interleave. */
export const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 4));

/** Counts the connections a server accepts. */
export function connectionsOf(server: Server): () => number {
  let count = 0;
  server.on('connection', () => {
    count++;
  });
  return () => count;
}
