// Side by side with pgloader (issue: loader): one SQLite source of N narrow rows (`kv_store`, as
// load-bench writes it; 1M rows, 100K with --quick) loaded into the same durable native PostgreSQL
// cluster, each time into a fresh database, (a) by pgloader with its own defaults (creates the
// table, COPY, primary key: a plain load) and (b) by our end-to-end load of the same file
// (loadSnapshot in a separate process: verify the blob → read → COPY to staging → merge into
// aqe.kv_entries with the conflict policy + undo log + sync_runs → commit; the push before it is
// timed apart), and (c) the database's floor for (b): the rows (b) wrote, as pre-encoded COPY
// text, loaded the same way with no client work at all. Row counts are checked afterwards. Full
// run: three rounds alternating who goes first, the best of each reported (other work on the
// machine slows either one at random). Needs
// /usr/bin/pgloader (not in CI: run it by hand). Reports, never fails.
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { PgDatabase } from '../../functions/db/pg-database.js';
import { defaultMigrationsDir, ensureMigrated, migrate } from '../../functions/db/migrate.js';
import { deferIndexesIfEmpty } from '../../functions/loader/write/merge-table-rows.js';
import { writeLargeSqlite } from '../support/large-sources.js';
import { createTestDatabase, startPostgresCluster, type PostgresCluster } from '../support/postgres.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';
import { runChild } from './child-run.js';
import { pgloaderVersion, runPgloader, type PgloaderStage } from './support/pgloader.js';
import { formatTableCosts, measureColumnCosts, queryableOf, type TableCosts } from './support/row-costs.js';

interface Round {
  /** The timed part: pgloader's own "Total import time"; ours: loadSnapshot, start to commit. */
  seconds: number;
  /** Spawn to exit of the whole process (ours: node start, connect, migrate, load). */
  wallSeconds: number;
  peakRssMb: number;
  stages?: PgloaderStage[];
  /** pg_total_relation_size of the loaded table (heap, TOAST, indexes). */
  tableBytes?: number;
}

const fmtS = (s: number) => `${s.toFixed(2)} s`;

async function checkpoint(adminUrl: string): Promise<void> {
  // each run starts without the previous run's dirty buffers to write
  const admin = new PgDatabase(adminUrl);
  try {
    await admin.exec('CHECKPOINT');
  } finally {
    await admin.close();
  }
}

async function queryRows<T>(url: string, sql: string): Promise<T[]> {
  const db = new PgDatabase(url);
  try {
    return (await db.query<T>(sql)).rows;
  } finally {
    await db.close();
  }
}

async function countRows(url: string, sql: string): Promise<number> {
  return Number((await queryRows<{ n: string | number }>(url, sql))[0]?.n);
}

async function pgloaderRound(cluster: PostgresCluster, source: string, n: number, opts: BenchOptions, round: number): Promise<Round> {
  const tdb = await createTestDatabase('pgloader', cluster.adminUrl);
  try {
    await checkpoint(cluster.adminUrl);
    const run = await runPgloader({ sqlitePath: source, targetUrl: tdb.url, rootDir: join(opts.workDir, `pgloader-root-${round}`), log: opts.log });
    const table = (await queryRows<{ s: string }>(tdb.url, "SELECT table_schema AS s FROM information_schema.tables WHERE table_name = 'kv_store'")).map((r) => r.s);
    if (table.length !== 1) throw new Error(`pgloader-bench: expected one kv_store table created by pgloader, found it in schemas [${table.join(', ')}]`);
    const count = await countRows(tdb.url, `SELECT count(*) AS n FROM "${table[0]!}".kv_store`);
    const tableBytes = await countRows(tdb.url, `SELECT pg_total_relation_size('"${table[0]!}".kv_store'::regclass) AS n`);
    if (count !== n || run.rows !== n) throw new Error(`pgloader-bench: pgloader says ${run.rows} rows, the table holds ${count}, expected ${n}`);
    opts.log(
      `pgloader-bench round ${round + 1}: pgloader ${n} rows in ${fmtS(run.totalSeconds)} (its total), ${fmtS(run.wallMs / 1000)} process wall, peak RSS ${run.peakRssMb.toFixed(0)} MB${run.options.length ? `, options ${run.options.join(' ')}` : ', defaults'}; ${count} rows counted in ${table[0]!}.kv_store`,
    );
    opts.log(`pgloader-bench round ${round + 1} pgloader stages: ${run.stages.map((s) => `${s.name} ${s.seconds.toFixed(3)}s${s.bytes ? ` (${s.rows} rows, ${s.bytes})` : ''}`).join('; ')}`);
    return { seconds: run.totalSeconds, wallSeconds: run.wallMs / 1000, peakRssMb: run.peakRssMb, stages: run.stages, tableBytes };
  } finally {
    await tdb.drop();
  }
}

/**
 * The database's own share of our load, with no client work at all: the exact rows our load wrote
 * (COPY text dumped from aqe.kv_entries after it, held in memory) COPYed into a fresh, migrated
 * aqe.kv_entries the way our first load does it (indexes dropped, COPY, key and per-source index
 * rebuilt, one transaction, commit). No loader writing these rows into this schema in one
 * transaction can be faster than this.
 */
async function floorRound(cluster: PostgresCluster, dump: readonly Buffer[], n: number, opts: BenchOptions, round: number, schema: FloorSchema = { label: 'floor' }): Promise<Round> {
  const tdb = await createTestDatabase('floor', cluster.adminUrl);
  const db = new PgDatabase(tdb.url);
  const client = new pg.Client({ connectionString: tdb.url });
  try {
    if (schema.migrationsDir) await migrate(db, { dialect: 'none', migrationsDir: schema.migrationsDir });
    else await ensureMigrated(db);
    await checkpoint(cluster.adminUrl);
    await client.connect();
    const started = performance.now();
    await client.query('BEGIN');
    const rebuild = await deferIndexesIfEmpty(queryableOf(client), 'kv_entries');
    await pipeline(Readable.from(dump), client.query(copyFrom('COPY aqe.kv_entries FROM STDIN')));
    const copied = performance.now();
    const steps: string[] = [];
    for (const statement of rebuild) {
      const t0 = performance.now();
      await client.query(statement);
      const name = /(?:CONSTRAINT|INDEX) (\S+)/.exec(statement)?.[1];
      if (name) steps.push(`${name} ${fmtS((performance.now() - t0) / 1000)}`);
    }
    const built = performance.now();
    await client.query('COMMIT');
    const seconds = (performance.now() - started) / 1000;
    const tableBytes = await countRows(tdb.url, `SELECT pg_total_relation_size('aqe.kv_entries'::regclass) AS n`);
    opts.log(`pgloader-bench round ${round + 1}: ${schema.label} stages: COPY ${fmtS((copied - started) / 1000)}; ${steps.join('; ')}; commit ${fmtS((performance.now() - built) / 1000)}`);
    const count = await countRows(tdb.url, 'SELECT count(*) AS n FROM aqe.kv_entries');
    if (count !== n) throw new Error(`pgloader-bench: the floor load wrote ${count} rows, expected ${n}`);
    opts.log(
      `pgloader-bench round ${round + 1}: database ${schema.label} ${n} rows in ${fmtS(seconds)} (pre-encoded COPY text of our rows + index rebuild + commit; ${rebuild.length - 1} index statements); table ${(tableBytes / 1024 ** 2).toFixed(1)} MB, ${(tableBytes / n).toFixed(0)} B/row`,
    );
    return { seconds, wallSeconds: seconds, peakRssMb: 0, tableBytes };
  } finally {
    await client.end().catch(() => {});
    await db.close();
    await tdb.drop();
  }
}

/** The floor's schema: today's (ensureMigrated) or the migrations of an earlier version. */
interface FloorSchema {
  label: string;
  migrationsDir?: string;
}

/** schema/migrations up to `last` (inclusive), copied into `dir`: the schema as an earlier version built it. */
function migrationsUpTo(dir: string, last: number): string {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(defaultMigrationsDir())) if (f.endsWith('.sql') && Number(f.slice(0, 3)) <= last) cpSync(join(defaultMigrationsDir(), f), join(dir, f));
  return dir;
}

/**
 * COPY text of every row of aqe.kv_entries in `url`, in memory; with `hexHashes`, the two hashes
 * as 64 hex characters (how the rows were stored before migration 025; same column order).
 */
async function dumpRows(url: string, hexHashes = false): Promise<Buffer[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const chunks: Buffer[] = [];
  try {
    await pipeline(
      client.query(
        copyTo(
          hexHashes
            ? `COPY (SELECT ${(
                await client.query<{ name: string }>(
                  `SELECT attname AS name FROM pg_attribute WHERE attrelid = 'aqe.kv_entries'::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
                )
              ).rows
                .map((r) => (r.name.endsWith('_hash') ? `encode(${r.name}, 'hex') AS ${r.name}` : r.name))
                .join(', ')} FROM aqe.kv_entries) TO STDOUT`
            : 'COPY aqe.kv_entries TO STDOUT',
        ),
      ),
      new Writable({
        write(chunk: Buffer, _enc, done) {
          chunks.push(chunk);
          done();
        },
      }),
    );
  } finally {
    await client.end();
  }
  return chunks;
}

async function oursRound(cluster: PostgresCluster, bucket: string, manifestKey: string, n: number, opts: BenchOptions, round: number, keep?: (url: string) => Promise<void>): Promise<Round> {
  const tdb = await createTestDatabase('ours', cluster.adminUrl);
  try {
    await checkpoint(cluster.adminUrl);
    const load = await runChild('test/bench/child-load.ts', [bucket, manifestKey, tdb.url]);
    if (load['rows'] !== n) throw new Error(`pgloader-bench: our load read ${String(load['rows'])} rows, expected ${n}: ${JSON.stringify(load)}`);
    const count = await countRows(tdb.url, "SELECT count(*) AS n FROM aqe.kv_entries WHERE source_env = 'bench' AND missing_since IS NULL");
    if (count !== n) throw new Error(`pgloader-bench: aqe.kv_entries holds ${count} rows after our load, expected ${n}`);
    const seconds = Number(load['ms']) / 1000;
    if (keep) await keep(tdb.url);
    opts.log(
      `pgloader-bench round ${round + 1}: ours ${n} rows in ${fmtS(seconds)} (loadSnapshot to commit), ${fmtS(load.wallMs / 1000)} process wall, peak RSS ${load.maxRssMb.toFixed(0)} MB; ${count} rows counted in aqe.kv_entries; ${JSON.stringify(load['totals'])}`,
    );
    return { seconds, wallSeconds: load.wallMs / 1000, peakRssMb: load.maxRssMb };
  } finally {
    await tdb.drop();
  }
}

const better = (a: Round | null, b: Round) => (a === null || b.seconds < a.seconds ? b : a);

export async function run(opts: BenchOptions): Promise<BenchFigure[]> {
  const version = await pgloaderVersion();
  const n = opts.quick ? 100_000 : 1_000_000;
  const rounds = opts.quick ? 1 : 3;
  await mkdir(opts.workDir, { recursive: true });
  try {
    const ws = join(opts.workDir, 'ws');
    const bucket = join(opts.workDir, 'bucket');
    const source = join(ws, 'v3/.agentic-qe/memory.db');
    const large = await writeLargeSqlite(source, { rows: n, table: 'kv_store' });
    const hash = await runChild('test/bench/child-hash.ts', [source]);
    const push = await runChild('test/bench/child-push.ts', [ws, bucket]);
    const manifestKey = String(push['manifestKey']);
    const pushSeconds = Number(push['ms']) / 1000;
    const hashSeconds = Number(hash['ms']) / 1000;
    opts.log(
      `pgloader-bench: ${version}; source ${n} rows, ${(large.bytes / 1024 ** 2).toFixed(1)} MB; push (not in the load figures) ${fmtS(pushSeconds)}, peak RSS ${push.maxRssMb.toFixed(0)} MB; read+sha256 ${fmtS(hashSeconds)}`,
    );

    const cluster = await startPostgresCluster({ durable: true });
    let pgl: Round | null = null;
    let ours: Round | null = null;
    let floor: Round | null = null;
    let dump: Buffer[] = [];
    let dumpBefore: Buffer[] = [];
    let floorBefore: Round | null = null;
    // the schema before leaner rows (migration 025: hashes as bytes)
    const before: FloorSchema = { label: 'floor at migration 024 (before leaner rows)', migrationsDir: migrationsUpTo(join(opts.workDir, 'migrations-024'), 24) };
    let costs: TableCosts | null = null;
    try {
      // alternate who goes first: the second one meets a warmer cache and a busier WAL
      for (let round = 0; round < rounds; round++) {
        const first = round % 2 === 0 ? 'pgloader' : 'ours';
        for (const who of first === 'pgloader' ? ['pgloader', 'ours'] : ['ours', 'pgloader']) {
          if (who === 'pgloader') pgl = better(pgl, await pgloaderRound(cluster, source, n, opts, round));
          else
            ours = better(
              ours,
              await oursRound(
                cluster,
                bucket,
                manifestKey,
                n,
                opts,
                round,
                round === 0
                  ? async (url) => {
                      dump = await dumpRows(url);
                      dumpBefore = await dumpRows(url, true);
                      costs = await measureColumnCosts(url, 'kv_entries', opts.log, opts.quick ? 50_000 : 100_000);
                    }
                  : undefined,
              ),
            );
        }
        floor = better(floor, await floorRound(cluster, dump, n, opts, round));
        floorBefore = better(floorBefore, await floorRound(cluster, dumpBefore, n, opts, round, before));
      }
    } finally {
      await cluster.stop();
    }
    dump = [];
    dumpBefore = [];
    if (!pgl || !ours || !floor || !floorBefore) throw new Error('pgloader-bench: no round ran');

    const rows = n.toLocaleString('en-US');
    const rowCosts = costs as TableCosts | null;
    if (rowCosts) for (const line of formatTableCosts(rowCosts, 'pgloader-bench row costs')) opts.log(line);
    const oursRate = n / ours.seconds;
    const pgRate = n / pgl.seconds;
    const ratio = oursRate / pgRate;
    const copyStage = pgl.stages?.find((s) => s.name === 'kv_store');
    const floorRate = n / floor.seconds;
    const floorBeforeRate = n / floorBefore.seconds;
    opts.log(
      `pgloader-bench best: ours ${Math.round(oursRate)} rows/s (${fmtS(ours.seconds)}), pgloader ${Math.round(pgRate)} rows/s (${fmtS(pgl.seconds)}; its COPY stage ${copyStage ? fmtS(copyStage.seconds) : '?'}), ratio ${ratio.toFixed(2)}x; database floor of our load ${Math.round(floorRate)} rows/s (${fmtS(floor.seconds)})`,
    );
    return [
      {
        name: `load ${rows} narrow rows from one SQLite file, ours end to end (verify → read → COPY + merge with conflict policy → commit)`,
        value: Math.round(oursRate),
        unit: 'rows/s',
        baseline: { name: `pgloader (${version.replace(/^pgloader version "?([^"]*)"?.*$/, '$1')}, defaults), its total import time`, value: Math.round(pgRate), unit: 'rows/s' },
        ratio: Number(ratio.toFixed(3)),
        ratioLabel: 'of pgloader',
        target: '>= 0.8x pgloader (issue 18)',
        pass: ratio >= 0.8,
      },
      {
        name: `the database's floor for our load: our exact rows as pre-encoded COPY text, indexes dropped, COPY + key/per-source index rebuild + commit (no client work)`,
        value: Math.round(floorRate),
        unit: 'rows/s',
        baseline: { name: 'pgloader, its total import time', value: Math.round(pgRate), unit: 'rows/s' },
        ratio: Number((floorRate / pgRate).toFixed(3)),
        ratioLabel: 'of pgloader',
        target: '>= 0.9x pgloader (issue 18)',
        pass: floorRate / pgRate >= 0.9,
      },
      {
        name: `the same floor in the schema before leaner rows (migration 024: content and text hashes as 64 hex characters)`,
        value: Math.round(floorBeforeRate),
        unit: 'rows/s',
        baseline: { name: 'pgloader, its total import time', value: Math.round(pgRate), unit: 'rows/s' },
        ratio: Number((floorBeforeRate / pgRate).toFixed(3)),
        ratioLabel: 'of pgloader',
      },
      {
        name: `row width, heap + TOAST + indexes per row of aqe.kv_entries: today's schema (after leaner rows)`,
        value: Math.round((floor.tableBytes ?? 0) / n),
        unit: 'B/row',
        baseline: { name: 'before (migration 024)', value: Math.round((floorBefore.tableBytes ?? 0) / n), unit: 'B/row' },
        ratio: Number(((floor.tableBytes ?? 0) / Math.max(1, floorBefore.tableBytes ?? 0)).toFixed(3)),
        ratioLabel: 'of before',
      },
      {
        name: `ours end to end against that floor (what the client side costs)`,
        value: Math.round(oursRate),
        unit: 'rows/s',
        baseline: { name: 'database floor of the same load', value: Math.round(floorRate), unit: 'rows/s' },
        ratio: Number((oursRate / floorRate).toFixed(3)),
        ratioLabel: 'of the floor',
      },
      ...(rowCosts && pgl.tableBytes
        ? [
            {
              name: `row width of our load: aqe.kv_entries, heap + TOAST + indexes per row (${rows} rows; per-column table in the log)`,
              value: Math.round(rowCosts.totalBytes / n),
              unit: 'B/row',
              baseline: { name: `pgloader's kv_store, heap + TOAST + indexes per row`, value: Math.round(pgl.tableBytes / n), unit: 'B/row' },
              ratio: Number((rowCosts.totalBytes / pgl.tableBytes).toFixed(2)),
              ratioLabel: 'of pgloader (wider)',
            },
          ]
        : []),
      {
        name: `same, whole process from spawn to exit (ours: node start + connect + migrate + load)`,
        value: Number(ours.wallSeconds.toFixed(2)),
        unit: 's',
        baseline: { name: 'pgloader process, spawn to exit', value: Number(pgl.wallSeconds.toFixed(2)), unit: 's' },
        ratio: Number((pgl.wallSeconds / ours.wallSeconds).toFixed(3)),
        ratioLabel: 'of pgloader speed',
      },
      {
        name: `peak RSS of the loading process (${rows} rows)`,
        value: Math.round(ours.peakRssMb),
        unit: 'MB',
        baseline: { name: 'pgloader process (polled VmHWM)', value: Math.round(pgl.peakRssMb), unit: 'MB' },
        ratio: Number((ours.peakRssMb / pgl.peakRssMb).toFixed(2)),
        ratioLabel: 'of pgloader',
      },
      {
        name: `push of the same workspace before our load (snapshot + sha256 + gzip + store; not in the load figures)`,
        value: Number(pushSeconds.toFixed(2)),
        unit: 's',
        baseline: { name: 'read + sha256 of the same file, separate process', value: Number(hashSeconds.toFixed(2)), unit: 's' },
        ratio: Number((hashSeconds / pushSeconds).toFixed(3)),
        ratioLabel: 'of read + sha256 speed',
      },
    ];
  } finally {
    await rm(opts.workDir, { recursive: true, force: true });
  }
}
