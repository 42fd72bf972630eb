// Schema drift: after someone drops an aqe table, a column or an index by hand, migrate no longer
// says "up to date" (and every changing load failing after it): it names each missing object, the
// migration that made it and the statement that re-creates an index. What the migrations are read
// to build is checked against a freshly migrated database (both dialects we can run here).
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseConnection } from '../../../functions/db/database.js';
import { loadMigrations, migrate } from '../../../functions/db/migrate.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { expectedSchema, schemaDrift } from '../../../functions/db/schema-drift.js';
import { TARGET_TABLES } from '../../../schema/tables/target-tables.js';
import { createTestDatabase, openTestPglite } from '../../support/postgres.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of open.splice(0).reverse()) await c();
});

async function pglite(): Promise<DatabaseConnection> {
  const db = await openTestPglite();
  open.push(() => db.close());
  return db;
}

describe('schema drift', () => {
  it('reads from the migrations exactly what a fresh database holds (PGlite + pgvector, native PostgreSQL + none)', async () => {
    const steps = await loadMigrations();
    const lite = await pglite();
    expect((await migrate(lite)).dialect).toBe('pgvector');
    const tdb = await createTestDatabase('drift');
    const native = new PgDatabase(tdb.url);
    open.push(async () => {
      await native.close();
      await tdb.drop();
    });
    await migrate(native, { dialect: 'none' });
    for (const [db, dialect] of [[lite, 'pgvector'], [native, 'none']] as const) {
      const expected = expectedSchema(steps, dialect);
      expect(await schemaDrift(db, expected)).toEqual([]);
      // every target table the code writes, with every column the code writes into
      for (const t of TARGET_TABLES) {
        expect(expected.tables.get(t.name), t.name).toBeDefined();
        for (const c of t.columns) expect(expected.tables.get(t.name)!.columns.has(c.name), `${t.name}.${c.name}`).toBe(true);
      }
      expect(expected.indexes.get('sync_runs_manifest_sha_key')).toBeDefined();
      expect(expected.indexes.get('events_pkey')).toBeDefined();
    }
  });

  it('names a dropped table, column and index with where they came from, instead of "up to date"', async () => {
    const db = await pglite();
    await migrate(db);
    await db.exec('DROP TABLE aqe.events');
    await db.exec('ALTER TABLE aqe.metrics DROP COLUMN data');
    await db.exec('DROP INDEX aqe.qe_patterns_source_idx');
    const err = await migrate(db).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(err?.code).toBe('DB_SCHEMA');
    expect(err?.message).toMatch(/^the aqe schema differs from what its migrations built \(3 problems\):/);
    expect(err?.message).toContain('table aqe.events is missing (created by 002_create_target_tables.sql)');
    expect(err?.message).toContain('column aqe.metrics.data is missing (added by 002_create_target_tables.sql)');
    expect(err?.message).toMatch(/index aqe\.qe_patterns_source_idx on aqe\.qe_patterns is missing \(014_reorder_primary_keys\.sql\); re-create it: CREATE INDEX qe_patterns_source_idx ON aqe\.qe_patterns \(source_env, source_id, source_table\);/);
    expect(err?.message).toMatch(/restore the objects from a backup, or re-create them with the statements named above/);
  });
});
