// How a test run meets a machine without redis-server: under CI=true the run
// fails at once (globalSetup); elsewhere the queue tests are skipped and the
// reporter says, loudly, how many and how to get Redis.
import type { Reporter, TestModule } from 'vitest/node';
import { GET_REDIS, hasRedisServer } from './redis.js';

/** Where the tests that need Redis live. */
const QUEUE_TESTS = '/test/bullmq/';

export default function requireRedisOnCi(): void {
  if (!hasRedisServer && process.env.CI === 'true') {
    throw new Error(
      `redis-server is not installed, and CI=true requires the queue tests to run: ${GET_REDIS}, then run the tests again`,
    );
  }
}

export class MissingRedisReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (hasRedisServer) return;
    let skipped = 0;
    for (const module of testModules) {
      if (!module.moduleId.includes(QUEUE_TESTS)) continue;
      for (const test of module.children.allTests()) {
        if (test.result().state === 'skipped') skipped += 1;
      }
    }
    if (skipped === 0) return;
    const rule = '!'.repeat(78);
    console.warn(
      `\n${rule}\n!! ${skipped} queue tests (BullMQ on a real Redis) did NOT run: redis-server is not installed.\n` +
        `!! To run them, ${GET_REDIS} and run \`npm test\` again.\n${rule}\n`,
    );
  }
}
