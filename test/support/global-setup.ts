// Runs once before all test files. Shared, expensive resources (a native PostgreSQL cluster)
// are started here and handed to test files through `provide`; each test file then works in its
// own database so runs do not interfere.
import type { TestProject } from 'vitest/node';
import { startPostgresCluster } from './postgres.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const teardowns: Array<() => Promise<void>> = [];
  const cluster = await startPostgresCluster();
  teardowns.push(() => cluster.stop());
  project.provide('postgresAdminUrl', cluster.adminUrl);
  return async () => {
    for (const t of teardowns.reverse()) await t();
  };
}
