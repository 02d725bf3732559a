// pg-boss on PGlite: PostgreSQL compiled to WebAssembly, in this process. No
// server, no Docker: the database lives in memory and goes when the process
// ends. contextJobs makes every job carry the context of the code that sent
// it, signed with `key`.
import { PGlite } from '@electric-sql/pglite';
import { contextJobs } from 'contextvars/pg-boss';
import { fromPglite, PgBoss } from 'pg-boss';

export async function startQueue({ key }) {
  const database = new PGlite();
  const boss = contextJobs(new PgBoss({ db: fromPglite(database), backend: 'pglite' }), { key });
  boss.on('error', (error) => console.error('pg-boss:', error));
  await boss.start();
  // A failed email is tried once more, at once.
  await boss.createQueue('emails', { retryLimit: 1, retryDelay: 0 });
  return {
    boss,
    async stop() {
      await boss.stop({ graceful: false });
      await database.close();
    },
  };
}
