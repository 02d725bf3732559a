// pg-boss on the two engines the tests run it on: PGlite in this process and
// a real PostgreSQL (a private server per test file). One engine and one
// installed pg-boss schema per test file; each test gets started PgBoss
// instances of its own (a second instance on an installed schema starts in
// well under a second, the first takes several on PGlite), all stopped after.
export { inContext } from '../support/in-context.js';

import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { type ConstructorOptions, fromPglite, PgBoss } from 'pg-boss';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { type ContextJobsOptions, contextJobs } from '../../dist/integrations/pg-boss/index.js';
import {
  hasPostgres,
  ON_POSTGRESQL,
  type PostgresServer,
  postgresForFile,
} from '../support/postgres.js';

/** A database a test file runs pg-boss on. */
interface Database {
  /** How a PgBoss reaches it. */
  readonly options: ConstructorOptions;
  query(text: string, values?: unknown[]): Promise<Array<Record<string, unknown>>>;
  close(): Promise<void>;
}

export interface Engine {
  /** Said in each describe's title; `ON_POSTGRESQL` counts the tests a run without PostgreSQL skips. */
  readonly label: string;
  readonly available: boolean;
  /** Opens the database, once per file, inside the describe (hooks). */
  open(): () => Promise<Database>;
}

const pglite: Engine = {
  label: 'on PGlite',
  available: true,
  open: () => async () => {
    const db = new PGlite();
    return {
      options: { db: fromPglite(db), backend: 'pglite' },
      query: async (text, values) => (await db.query<Record<string, unknown>>(text, values)).rows,
      close: () => db.close(),
    };
  },
};

const postgres: Engine = {
  label: ON_POSTGRESQL,
  available: hasPostgres,
  open() {
    const server: () => PostgresServer = postgresForFile();
    return async () => {
      const client = new pg.Client(server().connection);
      await client.connect();
      return {
        options: { ...server().connection, max: 4 },
        query: async (text, values) => (await client.query(text, values)).rows,
        close: () => client.end(),
      };
    };
  },
};

/** The engines, in the order the suites run on them. */
export const engines: readonly Engine[] = [pglite, postgres];

/** Timers short enough for tests: supervision (expired jobs) every second. */
const QUICK: ConstructorOptions = {
  superviseIntervalSeconds: 1,
  schedule: false,
  __test__enableSpies: true,
};

/** Polling for workers in tests (pg-boss's shortest). */
export const POLL = { pollingIntervalSeconds: 0.5 } as const;

/** The pg-boss toolkit of one test file on `engine`. Call inside its describe. */
export function bossKit(engine: Engine) {
  const open = engine.open();
  let database: Database | undefined;
  const started: PgBoss[] = [];
  beforeAll(async () => {
    database = await open();
    // The first start installs pg-boss's schema: the slow part, once per file.
    const installer = new PgBoss({ ...database.options, ...QUICK });
    await installer.start();
    started.push(installer);
  });
  afterEach(async () => {
    await Promise.all(started.splice(1).map((boss) => boss.stop({ graceful: false })));
  });
  afterAll(async () => {
    await Promise.all(started.splice(0).map((boss) => boss.stop({ graceful: false })));
    await database?.close();
  });
  const db = () => {
    if (database === undefined) throw new Error('the database is not open (beforeAll has not run)');
    return database;
  };
  /** A started PgBoss, bare; stopped after the test. */
  const bare = async (options: ConstructorOptions = {}) => {
    const boss = new PgBoss({ ...db().options, ...QUICK, ...options });
    boss.on('error', (error) => console.error('pg-boss error:', error));
    started.push(boss);
    return boss.start();
  };
  return {
    bare,
    /** A started PgBoss given `contextJobs(boss, options)`; stopped after the test. */
    boss: async (options?: ContextJobsOptions, bossOptions: ConstructorOptions = {}) =>
      contextJobs(await bare(bossOptions), options),
    /** A queue name no other test uses, created on `boss`. */
    queue: async (boss: PgBoss, label: string, options: object = {}) => {
      const name = `${label}-${randomUUID().slice(0, 8)}`;
      await boss.createQueue(name, options);
      return name;
    },
    query: (text: string, values?: unknown[]) => db().query(text, values),
    /** Everything pg-boss stored, every table of its schema, as text. */
    storedText: async () => {
      const tables = await db().query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'pgboss'",
      );
      const texts = await Promise.all(
        tables.map(({ table_name }) =>
          db().query(
            `SELECT coalesce(string_agg(t::text, ' '), '') AS text FROM pgboss."${table_name}" t`,
          ),
        ),
      );
      return texts.map(([row]) => row?.text).join('\n');
    },
  };
}

/** A job's stored data, as pg-boss keeps it. */
export async function storedData(
  kit: ReturnType<typeof bossKit>,
  id: string | null,
): Promise<unknown> {
  const [row] = await kit.query('SELECT data FROM pgboss.job WHERE id = $1', [id]);
  return row?.data;
}
