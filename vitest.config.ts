import { defineConfig } from 'vitest/config';

// One `npm test` runs every tier: units beside pure modules, then integration / e2e / infra tests
// that start what they need (native Postgres cluster, PGlite, the GCS JSON-API test server,
// the Functions Framework). Forks, not threads: native addons (better-sqlite3, onnxruntime)
// and child processes behave best in separate processes.
export default defineConfig({
  test: {
    include: ['schema/**/*.test.ts', 'uploader/**/*.test.ts', 'functions/**/*.test.ts', 'infra/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', 'cdktf.out/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default'],
  },
});
