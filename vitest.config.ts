import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // The end-to-end suite starts real processes (chain, server, enclave); run files one
    // at a time on this 2-core machine so timings stay predictable.
    fileParallelism: false,
    pool: 'forks',
  },
});
