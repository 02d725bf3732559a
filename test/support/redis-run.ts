// The queue tests on a real Redis, on a machine without redis-server: see
// missing-service.ts.
import type { Reporter, TestModule } from 'vitest/node';
import { announceSkipped, requireOnCi, type TestService } from './missing-service.js';
import { ON_POSTGRESQL } from './postgres.js';
import { GET_REDIS, hasRedisServer } from './redis.js';

const REDIS: TestService = {
  program: 'redis-server',
  tests: 'queue (BullMQ on a real Redis)',
  installed: hasRedisServer,
  howToGet: GET_REDIS,
  needs: (module, test) =>
    module.moduleId.includes('/test/bullmq/') && !test.fullName.includes(ON_POSTGRESQL),
};

export default function requireRedisOnCi(): void {
  requireOnCi(REDIS);
}

export class MissingRedisReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    announceSkipped(REDIS, testModules);
  }
}
