// How a test run meets a machine without a server the tests start (Redis,
// PostgreSQL): under CI=true the run fails at once (globalSetup); elsewhere
// the tests that need it are skipped and the reporter says, loudly, how many
// and how to get the server.
import type { TestCase, TestModule } from 'vitest/node';

export interface TestService {
  /** The program that is missing, as the messages name it. */
  readonly program: string;
  /** What the tests that need it test, as the messages name them. */
  readonly tests: string;
  readonly installed: boolean;
  /** How to get it. */
  readonly howToGet: string;
  /** Whether a test needs it. */
  needs(module: TestModule, test: TestCase): boolean;
}

/** Throws under CI=true when `service` is missing: CI must run every test. */
export function requireOnCi(service: TestService): void {
  if (!service.installed && process.env.CI === 'true') {
    throw new Error(
      `${service.program} is not installed, and CI=true requires the ${service.tests} tests to run: ${service.howToGet}, then run the tests again`,
    );
  }
}

/** Prints how many tests did not run for want of `service`, if any. */
export function announceSkipped(
  service: TestService,
  testModules: ReadonlyArray<TestModule>,
): void {
  if (service.installed) return;
  let skipped = 0;
  for (const module of testModules) {
    for (const test of module.children.allTests()) {
      if (test.result().state === 'skipped' && service.needs(module, test)) skipped += 1;
    }
  }
  if (skipped === 0) return;
  const rule = '!'.repeat(78);
  console.warn(
    `\n${rule}\n!! ${skipped} ${service.tests} tests did NOT run: ${service.program} is not installed.\n` +
      `!! To run them, ${service.howToGet} and run \`npm test\` again.\n${rule}\n`,
  );
}
