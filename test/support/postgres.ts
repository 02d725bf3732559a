// A real PostgreSQL for the tests of BullMQ's PostgreSQL backend and of
// pg-boss: Debian's PostgreSQL, initialised in a fresh directory and
// listening on a unix socket there only, stopped after (postgres-server.mjs).
import * as postgres from './postgres-server.mjs';
import { serverForFile } from './server-for-file.js';

/** Whether a PostgreSQL server can be started on this machine. */
export const hasPostgres: boolean = postgres.hasPostgres();

/** How to get PostgreSQL, for the messages of a run without it. */
export const GET_POSTGRES: string = postgres.GET_POSTGRES;

/**
 * What every describe of tests that need a real PostgreSQL says in its
 * title: a run without PostgreSQL counts them by it (postgres-run.ts).
 */
export const ON_POSTGRESQL = 'on PostgreSQL';

export interface PostgresServer {
  /** The folder of the server's unix socket: node-postgres takes it as `host`. */
  readonly host: string;
  /** A node-postgres config: user `postgres`, database `postgres`, the socket's folder. */
  readonly connection: { host: string; user: string; database: string };
  /** The same as a connection string (pg-boss takes it). */
  readonly url: string;
  stop(): Promise<void>;
}

/**
 * One PostgreSQL for a test file: started before its tests, stopped after.
 * The returned getter gives the running server. Call it inside
 * `describe.runIf(hasPostgres)`.
 */
export function postgresForFile(): () => PostgresServer {
  return serverForFile<PostgresServer>(postgres.startPostgres, 'PostgreSQL');
}
