// Jobs across worker processes on a real Redis: the suite is shared with
// BullMQ's PostgreSQL backend (postgres.test.ts).
import { describe } from 'vitest';
import { hasRedisServer, redisForFile } from '../support/redis.js';
import { jobsAcrossProcesses } from './suites/processes.js';

describe.runIf(hasRedisServer)('jobs across worker processes', () => {
  jobsAcrossProcesses(redisForFile());
});
