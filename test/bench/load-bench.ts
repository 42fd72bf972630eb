// Load path (issue: loader) on native PostgreSQL (durable throwaway cluster): a SQLite source of N
// narrow rows pushed to a local bucket, then loadSnapshot end to end (verify blob → read →
// COPY + merge → commit) in a separate process (its peak RSS is a figure too), against raw COPY
// of the same rows into an unindexed table and one INSERT per row in autocommit, both measured in
// the same run; the reload of the same content under a new manifest; and `aqe-upload demo`.
//
// The source is `v3/.agentic-qe/memory.db` holding one table `kv_store (id INTEGER PRIMARY KEY,
// key, value, created_at)` written by writeLargeSqlite: it maps to the modelled target
// `aqe.kv_entries` (key = id, value as jsonb, created_at from ms), more representative than the
// `source_rows` catch-all. Reports, never fails.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { encodeCopyValue } from '../../functions/db/copy-encoding.js';
import { PgDatabase } from '../../functions/db/pg-database.js';
import { loadConfig } from '../../uploader/config.js';
import { runPush } from '../../uploader/push/run-push.js';
import { writeLargeSqlite } from '../support/large-sources.js';
import { createTestDatabase, startPostgresCluster } from '../support/postgres.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';
import { runChild, timeCommand } from './child-run.js';

const INSERT_SAMPLE = 20_000;

async function push(workspace: string, bucketDir: string): Promise<string> {
  const config = loadConfig({ flags: { workspace, env: 'bench', bucket: pathToFileURL(bucketDir).href }, env: {}, workspace, configText: null });
  const result = await runPush({ config });
  if (!result.manifestKey || result.partial) throw new Error(`load-bench: push failed ${JSON.stringify(result.totals)}`);
  return result.manifestKey;
}

type SqliteRow = [number, string, string, number];

function* sqliteRows(path: string, limit?: number): Generator<SqliteRow> {
  const db = new Database(path, { readonly: true });
  try {
    const stmt = db.prepare(`SELECT id, key, value, created_at FROM kv_store ORDER BY id${limit ? ` LIMIT ${limit}` : ''}`).raw();
    for (const row of stmt.iterate()) yield row as SqliteRow;
  } finally {
    db.close();
  }
}

/** Raw COPY of the SQLite rows (read + encode + COPY) into an unindexed, logged table, one transaction. */
async function rawCopy(db: PgDatabase, path: string, n: number): Promise<number> {
  await db.exec('DROP TABLE IF EXISTS public.bench_raw; CREATE TABLE public.bench_raw (id bigint, key text, value text, created_at bigint)');
  const started = performance.now();
  await db.transaction((tx) =>
    tx.copyRows(
      'public.bench_raw',
      ['id', 'key', 'value', 'created_at'],
      (function* () {
        for (const [id, key, value, at] of sqliteRows(path)) yield [String(id), encodeCopyValue(key, 'text'), encodeCopyValue(value, 'text'), String(at)];
      })(),
    ),
  );
  const rate = n / ((performance.now() - started) / 1000);
  await db.exec('DROP TABLE public.bench_raw');
  return rate;
}

/** One INSERT per row in autocommit (the seed tool's way), on a sample of the same rows. */
async function insertPerRow(db: PgDatabase, path: string, sample: number): Promise<number> {
  await db.exec('DROP TABLE IF EXISTS public.bench_insert; CREATE TABLE public.bench_insert (id bigint PRIMARY KEY, key text, value text, created_at bigint)');
  const started = performance.now();
  for (const [id, key, value, at] of sqliteRows(path, sample)) {
    await db.query('INSERT INTO public.bench_insert VALUES ($1, $2, $3, $4)', [id, key, value, at]);
  }
  const rate = sample / ((performance.now() - started) / 1000);
  await db.exec('DROP TABLE public.bench_insert');
  return rate;
}

async function loadFigures(opts: BenchOptions): Promise<BenchFigure[]> {
  const n = opts.quick ? 100_000 : 1_000_000;
  const ws = join(opts.workDir, 'ws');
  const bucket = join(opts.workDir, 'bucket');
  const source = join(ws, 'v3/.agentic-qe/memory.db');
  await writeLargeSqlite(source, { rows: n, table: 'kv_store' });
  const firstKey = await push(ws, bucket);

  const cluster = await startPostgresCluster({ durable: true });
  try {
    const tdb = await createTestDatabase('bench_load', cluster.adminUrl);
    const db = new PgDatabase(tdb.url);
    try {
      const first = await runChild('test/bench/child-load.ts', [bucket, firstKey, tdb.url]);
      if (first['rows'] !== n) throw new Error(`load-bench: first load read ${String(first['rows'])} rows, expected ${n}: ${JSON.stringify(first)}`);
      const firstRate = n / (Number(first['ms']) / 1000);
      opts.log(`load-bench first load: ${n} rows in ${(Number(first['ms']) / 1000).toFixed(2)} s (${Math.round(firstRate)} rows/s), peak RSS ${first.maxRssMb.toFixed(0)} MB; ${JSON.stringify(first['totals'])}`);
      const count = await db.query<{ n: string | number }>("SELECT count(*) AS n FROM aqe.kv_entries WHERE source_env = 'bench'");
      if (Number(count.rows[0]?.n) !== n) throw new Error(`load-bench: aqe.kv_entries holds ${String(count.rows[0]?.n)} rows, expected ${n}`);

      // The same content under a new manifest: same blobs, every row unchanged.
      const secondKey = await push(ws, bucket);
      const second = await runChild('test/bench/child-load.ts', [bucket, secondKey, tdb.url]);
      const secondMs = Number(second['ms']);
      opts.log(`load-bench reload: ${(secondMs / 1000).toFixed(2)} s, peak RSS ${second.maxRssMb.toFixed(0)} MB; ${JSON.stringify(second['totals'])}`);

      const copyRate = await rawCopy(db, source, n);
      const insertSample = Math.min(n, INSERT_SAMPLE);
      const insertRate = await insertPerRow(db, source, insertSample);
      opts.log(`load-bench baselines: raw COPY ${Math.round(copyRate)} rows/s; one INSERT per row ${Math.round(insertRate)} rows/s (${insertSample} rows)`);

      const speedup = Number(first['ms']) / secondMs;
      return [
        {
          name: `load ${n.toLocaleString('en-US')} narrow rows SQLite → aqe.kv_entries (loadSnapshot, end to end)`,
          value: Math.round(firstRate),
          unit: 'rows/s',
          baseline: { name: 'raw COPY of the same rows into an unindexed table', value: Math.round(copyRate), unit: 'rows/s' },
          ratio: Number((firstRate / copyRate).toFixed(3)),
          ratioLabel: 'of raw COPY',
          target: '>= 100K rows/s',
          pass: firstRate >= 100_000,
        },
        {
          name: `load ${n.toLocaleString('en-US')} narrow rows vs one INSERT per row`,
          value: Math.round(firstRate),
          unit: 'rows/s',
          baseline: { name: `one INSERT per row, autocommit (${insertSample.toLocaleString('en-US')}-row sample)`, value: Math.round(insertRate), unit: 'rows/s' },
          ratio: Number((firstRate / insertRate).toFixed(1)),
          ratioLabel: 'x one INSERT per row',
          target: '>= 100K rows/s',
          pass: firstRate >= 100_000,
        },
        {
          name: `reload the same content in a new snapshot (${n.toLocaleString('en-US')} rows)`,
          value: Math.round(secondMs),
          unit: 'ms',
          baseline: { name: 'first load', value: Math.round(Number(first['ms'])), unit: 'ms' },
          ratio: Number(speedup.toFixed(2)),
          ratioLabel: 'x faster than the first load',
          target: '>= 5x faster than the first load',
          pass: speedup >= 5,
        },
        {
          name: `peak RSS of a process loading a ${n.toLocaleString('en-US')}-row source`,
          value: Math.round(first.maxRssMb),
          unit: 'MB',
          baseline: { name: 'same process after connect + migrate, before the load', value: Math.round(Number(first['rssBeforeLoadMb'])), unit: 'MB' },
          ratio: Number((first.maxRssMb / Number(first['rssBeforeLoadMb'])).toFixed(2)),
          ratioLabel: 'of the process before the load',
          target: '< 300 MB',
          pass: first.maxRssMb < 300,
        },
      ];
    } finally {
      await db.close();
      await tdb.drop();
    }
  } finally {
    await cluster.stop();
    await rm(ws, { recursive: true, force: true });
    await rm(bucket, { recursive: true, force: true });
  }
}

async function demoFigure(opts: BenchOptions): Promise<BenchFigure> {
  const small = await timeCommand(['uploader/cli.ts', 'demo', '--no-embed', '--json', '--volume', 'small']);
  const plan = await timeCommand(['uploader/cli.ts', 'demo', '--no-embed', '--json']);
  const inner = (out: string) => {
    try {
      return Number((JSON.parse(out) as { durationMs?: number }).durationMs);
    } catch {
      return Number.NaN;
    }
  };
  opts.log(`load-bench demo: plan ${(plan.wallMs / 1000).toFixed(1)} s wall (${(inner(plan.stdout) / 1000).toFixed(1)} s inside), small ${(small.wallMs / 1000).toFixed(1)} s wall (${(inner(small.stdout) / 1000).toFixed(1)} s inside)`);
  return {
    name: 'aqe-upload demo --no-embed (plan volumes, local mode), separate process',
    value: Number((plan.wallMs / 1000).toFixed(1)),
    unit: 's',
    baseline: { name: 'the same with --volume small', value: Number((small.wallMs / 1000).toFixed(1)), unit: 's' },
    ratio: Number((plan.wallMs / small.wallMs).toFixed(2)),
    ratioLabel: 'of --volume small',
    target: '< 20 s',
    pass: plan.wallMs < 20_000,
  };
}

export async function run(opts: BenchOptions): Promise<BenchFigure[]> {
  await mkdir(opts.workDir, { recursive: true });
  try {
    const figures = await loadFigures(opts);
    figures.push(await demoFigure(opts));
    return figures;
  } finally {
    await rm(opts.workDir, { recursive: true, force: true });
  }
}
