import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          pool: 'threads',
        },
      },
      {
        test: {
          name: 'integration',
          include: [
            'test/contract/**/*.test.ts',
            'test/integration/**/*.test.ts',
            'test/security/**/*.test.ts',
            'test/regressions/**/*.test.ts',
          ],
          // Each fork owns its own redis-server (worker-scoped fixture), so files run in parallel.
          pool: 'forks',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // The HTTP caching tests again, every request over HTTP/2 with TLS (test/helpers/fixtures.ts):
        // both protocols reach the same pipeline, so they must behave the same.
        test: {
          name: 'h2',
          include: ['test/integration/http-caching/**/*.test.ts'],
          env: { CACHEFRONT_TEST_TRANSPORT: 'h2' },
          pool: 'forks',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
