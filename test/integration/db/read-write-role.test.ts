// A role with only read/write rights on schema `aqe` (what the loaders get once an administrator
// set the schema up) migrates-checks and loads with no DDL when no migration is pending: the first
// load into empty tables (whose indexes the owner would defer) and a changing load both succeed.
// When a migration IS pending, it fails as a permission error that says what to do, not as
// "syntax error or undefined object".
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMigrated, migrate } from '../../../functions/db/migrate.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { searchByText } from '../../../functions/search/search.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { pushWorkspace, tempDir } from '../../e2e/support/e2e-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { sqliteAll, sqliteRun } from '../ops/ops-support.js';

const ROLE = `aqe_rw_${process.pid}`;
const PASSWORD = 'rw-password-for-tests';

let tdb: TestDatabase;
let admin: PgDatabase;
let rwUrl: string;
let tmp: Awaited<ReturnType<typeof tempDir>>;

beforeAll(async () => {
  tdb = await createTestDatabase('rwrole');
  admin = new PgDatabase(tdb.url);
  await migrate(admin);
  // the administrator's grants: read/write on the tables, nothing on the schema itself
  const c = new pg.Client({ connectionString: tdb.url });
  await c.connect();
  try {
    await c.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD}'`);
    await c.query(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
    await c.query(`REVOKE CREATE ON DATABASE "${tdb.name}" FROM PUBLIC`);
    await c.query(`GRANT USAGE ON SCHEMA aqe TO ${ROLE}`);
    await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA aqe TO ${ROLE}`);
    await c.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA aqe TO ${ROLE}`);
  } finally {
    await c.end();
  }
  const u = new URL(tdb.url);
  u.username = ROLE;
  u.password = PASSWORD;
  rwUrl = u.toString();
  tmp = await tempDir('aqe-rw-');
});
afterAll(async () => {
  await admin?.close();
  await tdb?.drop();
  const c = new pg.Client({ connectionString: tdb.url.replace(/\/[^/]*$/, '/postgres') });
  await c.connect().catch(() => undefined);
  await c.query(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => undefined);
  await c.end().catch(() => undefined);
  await tmp?.remove();
});

describe('a role with only read/write rights on aqe', () => {
  it('checks the migrations and loads (first load into empty tables, then a changing one) without DDL', async () => {
    const db = new PgDatabase(rwUrl);
    try {
      expect((await migrate(db)).applied).toEqual([]);
      const ws = join(tmp.dir, 'ws');
      await buildWorkspace(ws, { volume: 'small', seed: 3 });
      const store = new LocalDirBlobStore(join(tmp.dir, 'bucket'));
      const first = await loadSnapshot({ store, db }, (await pushWorkspace(ws, 'laptop', store)).manifestKey!);
      expect(first.status).toBe('loaded');
      const id = sqliteAll<{ id: string }>(ws, 'v3/.agentic-qe/memory.db', 'SELECT id FROM qe_patterns ORDER BY id LIMIT 1')[0]!.id;
      sqliteRun(ws, 'v3/.agentic-qe/memory.db', `UPDATE qe_patterns SET description = 'changed by the tool', confidence = 0.99 WHERE id = ?`, id);
      const second = await loadSnapshot({ store, db }, (await pushWorkspace(ws, 'laptop', store)).manifestKey!);
      expect(second).toMatchObject({ status: 'loaded', totals: { updated: 1 } });
      // the indexes the owner would have deferred are all there
      const idx = await db.query<{ n: string }>(`SELECT count(*) AS n FROM pg_indexes WHERE schemaname = 'aqe' AND tablename = 'qe_patterns'`);
      expect(Number(idx.rows[0]?.n)).toBeGreaterThan(0);
    } finally {
      await db.close();
    }
  });

  it('checks the migrations and searches as a read-only role (default_transaction_read_only, as the operators\' aqe_reader)', async () => {
    const ro = `aqe_ro_${process.pid}`;
    await admin.query(`CREATE ROLE ${ro} LOGIN PASSWORD '${PASSWORD}'`);
    await admin.query(`ALTER ROLE ${ro} SET default_transaction_read_only = on`);
    await admin.query(`GRANT USAGE ON SCHEMA aqe TO ${ro}`);
    await admin.query(`GRANT SELECT ON ALL TABLES IN SCHEMA aqe TO ${ro}`);
    const u = new URL(tdb.url);
    u.username = ro;
    u.password = PASSWORD;
    const db = new PgDatabase(u.toString());
    try {
      expect((await migrate(db)).applied).toEqual([]);
      const hits = await searchByText(await ensureMigrated(db), 'flaky test', {});
      expect(Array.isArray(hits.hits)).toBe(true);
    } finally {
      await db.close();
      await admin.query(`DROP OWNED BY ${ro}`);
      await admin.query(`DROP ROLE ${ro}`);
    }
  });

  it('gets a permission error that says what to do when a migration is pending', async () => {
    await admin.query(`DELETE FROM aqe.schema_migrations WHERE name = (SELECT max(name) FROM aqe.schema_migrations)`);
    const db = new PgDatabase(rwUrl);
    try {
      const err = await migrate(db).then(
        () => null,
        (e: unknown) => e as Error & { code?: string },
      );
      expect(err?.message).toMatch(/permission denied \(the database role lacks a privilege\) \(SQLSTATE 42501\)/);
      expect(err?.message).toMatch(/run `aqe-upload migrate` as the schema owner when a migration is pending/);
      expect(err?.message).not.toMatch(/syntax error or undefined object/);
    } finally {
      await db.close();
    }
  });
});
