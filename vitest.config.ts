import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/**/*.test.ts'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      // `npm run coverage` (with PostgreSQL, as in CI) fails under these floors: the level measured
      // when they were set (92.4 % lines, 82.4 % branches) less one point, since timing decides a few
      // retry and race branches. Raise them as coverage grows.
      thresholds: { lines: 91, branches: 81 },
    },
  },
});
