import { defineConfig } from 'vitest/config';

const shared = {
  globalSetup: ['test/helpers/global-setup.ts'],
  setupFiles: ['test/helpers/keyring-setup.ts'],
  testTimeout: 30_000,
  hookTimeout: 60_000,
};

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS and ESM builds; Node (and so Pothos and yoga) loads the CJS one, so the
    // test files must too, or two copies of graphql meet in one schema.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    // Integration suites each start Kafka consumers and HTTP listeners; two at a time fits 2 cores.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'], ...shared },
      },
      {
        // Fault suites stop and restart shared things (the local Kafka broker): they run alone,
        // one file at a time, after everything else has finished.
        extends: true,
        test: {
          name: 'fault',
          include: ['test/fault/**/*.test.ts'],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          ...shared,
          testTimeout: 120_000,
        },
      },
    ],
  },
});
