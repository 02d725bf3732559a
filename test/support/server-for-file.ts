// One private server (Redis, PostgreSQL) per test file: started before its
// tests, stopped after.
import { afterAll, beforeAll } from 'vitest';

/**
 * Starts a server with `start` before the file's tests and stops it after;
 * the returned getter gives the running server. Call it inside a
 * `describe.runIf(...)` that checks the server can be started.
 */
export function serverForFile<S extends { stop(): Promise<void> }>(
  start: () => Promise<S>,
  what: string,
): () => S {
  let server: S | undefined;
  beforeAll(async () => {
    server = await start();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error(`${what} is not running (beforeAll has not run)`);
    return server;
  };
}
