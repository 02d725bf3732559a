import { defineConfig } from 'vitest/config';
import { MissingPostgresReporter } from './test/support/postgres-run.js';
import { MissingRedisReporter } from './test/support/redis-run.js';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    globalSetup: ['test/support/redis-run.ts', 'test/support/postgres-run.ts'],
    reporters: ['default', new MissingRedisReporter(), new MissingPostgresReporter()],
  },
});
