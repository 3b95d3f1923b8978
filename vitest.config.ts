import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // Integration tests start real servers and databases; argon2 hashing is deliberately slow.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores: more workers than that only thrashes.
    maxWorkers: 2,
  },
});
