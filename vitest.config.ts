import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Process-level tests run the built `marquee`: build it first, every run.
    globalSetup: ['test/global-setup.ts'],
    // chDB allows one data directory per process: every test file runs in its own process and directory.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
});
