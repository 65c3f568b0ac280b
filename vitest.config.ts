import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // One Dawn process for the whole suite: files share one engine, so each pipeline variant is compiled
    // once (llvmpipe takes seconds for the large matmul variants) and lavapipe gets both cores to itself.
    pool: 'forks',
    poolOptions: { forks: { singleFork: true } },
    isolate: false,
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
