import { defineConfig } from 'vitest/config';

// Long-running soak tests, outside `npm test`; CI runs them with `npm run test:soak`.
export default defineConfig({
  test: {
    include: ['test/soak/**/*.soak.ts'],
    testTimeout: 300_000,
  },
});
