// The tests on a real PostgreSQL (BullMQ's PostgreSQL backend, pg-boss), on
// a machine without PostgreSQL: see missing-service.ts. pg-boss's tests on
// PGlite run anyway.
import type { Reporter, TestModule } from 'vitest/node';
import { announceSkipped, requireOnCi, type TestService } from './missing-service.js';
import { GET_POSTGRES, hasPostgres, ON_POSTGRESQL } from './postgres.js';

const POSTGRES: TestService = {
  program: 'PostgreSQL',
  tests: 'job (BullMQ and pg-boss on a real PostgreSQL)',
  installed: hasPostgres,
  howToGet: GET_POSTGRES,
  needs: (_, test) => test.fullName.includes(ON_POSTGRESQL),
};

export default function requirePostgresOnCi(): void {
  requireOnCi(POSTGRES);
}

export class MissingPostgresReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    announceSkipped(POSTGRES, testModules);
  }
}
