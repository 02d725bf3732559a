// BullMQ on a real PostgreSQL, through BullMQ 6's PostgreSQL backend: the
// suites the Redis tests run, on this backend.
import { describe } from 'vitest';
import { hasPostgres, ON_POSTGRESQL, postgresForFile } from '../support/postgres.js';
import { jobsAcrossProcesses } from './suites/processes.js';

describe.runIf(hasPostgres)(`jobs across worker processes ${ON_POSTGRESQL}`, () => {
  jobsAcrossProcesses(postgresForFile());
});
