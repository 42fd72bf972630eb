// Load write path on native PostgreSQL: COPY + set-based merge of N narrow rows in one
// transaction, against raw COPY into an unindexed table (ceiling) and one INSERT per row in
// autocommit (the seed tool's write path). Reports, never fails.
import type { Database, DatabaseConnection } from '../../functions/db/database.js';
import { encodeCopyValue } from '../../functions/db/copy-encoding.js';
import { ensureMigrated } from '../../functions/db/migrate.js';
import { PgDatabase } from '../../functions/db/pg-database.js';
import { mergeTableRows, RunLedger } from '../../functions/loader/write/index.js';
import { type TargetRow, targetTable } from '../../schema/tables/target-tables.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';
import { createTestDatabase, startPostgresCluster } from '../support/postgres.js';

function* narrowRows(n: number, version = 1): Generator<TargetRow> {
  const at = new Date('2026-01-01T00:00:00Z');
  for (let i = 0; i < n; i++) {
    yield {
      table: 'kv_entries',
      sourceTable: 'kv_store',
      sourceKey: `key-${i}`,
      contentHash: `h${version}-${i}`,
      sourceUpdatedAt: new Date(at.getTime() + version * 1000),
      values: { namespace: 'bench', key: `key-${i}`, value: { i, v: version }, created_at: at },
      extra: null,
    };
  }
}

export interface MergeBenchResult {
  rows: number;
  copyMergeRowsPerSec: number;
  unchangedRowsPerSec: number;
  updateRowsPerSec: number;
  rawCopyRowsPerSec: number;
  insertPerRowRowsPerSec: number;
  insertPerRowSample: number;
}

async function mergeOnce(db: Database, env: string, n: number, version: number, sha: string): Promise<number> {
  const t0 = performance.now();
  await db.transaction(async (tx) => {
    const ledger = new RunLedger(tx);
    await ledger.lockEnvironment(env);
    const begun = await ledger.begin({ manifestSha: sha, env, snapshotId: sha, manifestKey: sha, snapshotCreatedAt: new Date(Date.UTC(2026, 1, version)) });
    if (begun.status !== 'begun') throw new Error(`${sha}: already run ${begun.run.id}`);
    const runId = begun.runId;
    const counts = await mergeTableRows(tx, { runId, env, sourceId: 'bench', snapshotAt: new Date(Date.UTC(2026, 1, version)), table: targetTable('kv_entries'), rows: narrowRows(n, version), fullSourceTables: ['kv_store'] });
    await ledger.finish(runId, { status: 'succeeded', tables: { kv_entries: counts } });
  });
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Measures the write path on a migrated database `db` (any Database; figures in rows/s).
 * `insertSample` rows are used for the one-INSERT-per-row baseline (it is slow).
 */
export async function benchMerge(connection: DatabaseConnection, n: number, insertSample = Math.min(n, 20_000)): Promise<MergeBenchResult> {
  const db = await ensureMigrated(connection);
  const env = `bench-${Date.now()}`;
  const copyMergeRowsPerSec = await mergeOnce(db, env, n, 1, `${env}-1`);
  const unchangedRowsPerSec = await mergeOnce(db, env, n, 1, `${env}-2`);
  const updateRowsPerSec = await mergeOnce(db, env, n, 2, `${env}-3`);

  await db.exec('DROP TABLE IF EXISTS public.bench_raw; CREATE UNLOGGED TABLE public.bench_raw (namespace text, key text, value jsonb, created_at timestamptz)');
  let t0 = performance.now();
  await db.copyRows('public.bench_raw', ['namespace', 'key', 'value', 'created_at'], (function* () {
    for (const r of narrowRows(n)) yield [encodeCopyValue(r.values['namespace'], 'text'), encodeCopyValue(r.values['key'], 'text'), encodeCopyValue(r.values['value'], 'jsonb'), encodeCopyValue(r.values['created_at'], 'timestamptz')];
  })());
  const rawCopyRowsPerSec = n / ((performance.now() - t0) / 1000);

  await db.exec('DROP TABLE IF EXISTS public.bench_insert; CREATE TABLE public.bench_insert (namespace text, key text PRIMARY KEY, value jsonb, created_at timestamptz)');
  t0 = performance.now();
  for (const r of narrowRows(insertSample)) {
    await db.query('INSERT INTO public.bench_insert VALUES ($1, $2, $3, $4)', [r.values['namespace'] as string, r.values['key'] as string, JSON.stringify(r.values['value']), r.values['created_at'] as Date]);
  }
  const insertPerRowRowsPerSec = insertSample / ((performance.now() - t0) / 1000);
  await db.exec('DROP TABLE public.bench_raw; DROP TABLE public.bench_insert');
  return { rows: n, copyMergeRowsPerSec, unchangedRowsPerSec, updateRowsPerSec, rawCopyRowsPerSec, insertPerRowRowsPerSec, insertPerRowSample: insertSample };
}

export async function run(options: BenchOptions): Promise<BenchFigure[]> {
  const n = options.quick ? 20_000 : 100_000;
  const cluster = await startPostgresCluster({ durable: true });
  try {
    const tdb = await createTestDatabase('bench', cluster.adminUrl);
    const db = new PgDatabase(tdb.url);
    try {
      const r = await benchMerge(db, n, options.quick ? 2_000 : 10_000);
      options.log(`merge bench (${n} rows): ${JSON.stringify(r)}`);
      const rate = (name: string, value: number): BenchFigure => ({ name, value: Math.round(value), unit: 'rows/s' });
      const insert = { name: 'one INSERT per row (autocommit)', value: Math.round(r.insertPerRowRowsPerSec), unit: 'rows/s' };
      const ceiling = { name: 'raw COPY into an unindexed table', value: Math.round(r.rawCopyRowsPerSec), unit: 'rows/s' };
      return [
        { ...rate(`COPY + merge ${n} new narrow rows (one transaction, undo log)`, r.copyMergeRowsPerSec), baseline: insert, ratio: r.copyMergeRowsPerSec / r.insertPerRowRowsPerSec, ratioLabel: 'x one-INSERT-per-row' },
        { ...rate(`COPY + merge ${n} new narrow rows vs ceiling`, r.copyMergeRowsPerSec), baseline: ceiling, ratio: r.copyMergeRowsPerSec / r.rawCopyRowsPerSec, ratioLabel: 'x raw COPY' },
        { ...rate(`re-merge ${n} unchanged rows`, r.unchangedRowsPerSec), baseline: ceiling, ratio: r.unchangedRowsPerSec / r.rawCopyRowsPerSec, ratioLabel: 'x raw COPY' },
        { ...rate(`merge ${n} changed rows (update + pre-images)`, r.updateRowsPerSec), baseline: ceiling, ratio: r.updateRowsPerSec / r.rawCopyRowsPerSec, ratioLabel: 'x raw COPY' },
      ];
    } finally {
      await db.close();
      await tdb.drop();
    }
  } finally {
    await cluster.stop();
  }
}
