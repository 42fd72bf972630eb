// Scale (issue: 1M rows / 1 GB): a realistic workspace (every source kind at plan volumes) plus one
// SQLite source of 1M `kv_store` rows with ~1 KB values, ~1 GB on disk (--quick: 100K rows,
// ~110 MB). Push with the real CLI (`aqe-upload push --no-load`, a child process) against read +
// sha256 of the same files (a child); load with loadSnapshot (a child) into a durable native
// PostgreSQL against raw COPY of the big table's rows into an unindexed table; the peak RSS of
// the push process, the loader process and the PostgreSQL backend serving each. Reports, never fails.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { encodeCopyValue } from '../../functions/db/copy-encoding.js';
import { PgDatabase } from '../../functions/db/pg-database.js';
import { WORKSPACE_CONFIG_FILE } from '../../schema/config/workspace-config.js';
import { loadConfig } from '../../uploader/config.js';
import { discoverSources } from '../../uploader/workspace/discover.js';
import { writeLargeSqlite } from '../support/large-sources.js';
import { createTestDatabase, startPostgresCluster } from '../support/postgres.js';
import { buildWorkspace } from '../support/workspace-builder.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';
import { runChild } from './child-run.js';
import { runMeasured, withBackendWatch, type BackendMemory } from './support/process-memory.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MB = 1024 * 1024;
/**
 * 980-character values pack 4 rows per 4 KB SQLite page: 1M rows ≈ 1.03 GB. They are slices of
 * writeLargeSqlite's 4 KB text pool, so gzip shrinks them ~40x: the push is CPU-light here.
 */
const PAYLOAD = 980;
const BIG_SOURCE = { id: 'bench-scale', path: 'bench/scale.db', table: 'kv_store' } as const;

interface Workspace {
  dir: string;
  rows: number;
  bytes: number;
  files: string[];
  bigFile: string;
}

async function buildScaleWorkspace(dir: string, rows: number): Promise<Workspace> {
  await buildWorkspace(dir, { volume: 'plan', seed: 11 });
  const configText = JSON.stringify({ extraSources: [{ id: BIG_SOURCE.id, path: BIG_SOURCE.path }] });
  await writeFile(join(dir, WORKSPACE_CONFIG_FILE), configText);
  const big = await writeLargeSqlite(join(dir, BIG_SOURCE.path), { rows, payloadBytes: PAYLOAD, table: BIG_SOURCE.table });
  const config = loadConfig({ flags: { workspace: dir, env: 'bench' }, env: {}, workspace: dir, configText });
  const present = (await discoverSources(config)).filter((f) => f.state === 'present');
  if (!present.some((f) => f.absPath === big.path)) throw new Error(`scale-bench: the big source ${big.path} was not discovered`);
  return { dir, rows, bytes: present.reduce((sum, f) => sum + (f.size ?? 0), 0), files: present.map((f) => f.absPath), bigFile: big.path };
}

/** The real CLI, `aqe-upload push --no-load --json`, in a child process (peak RSS polled from /proc). */
async function cliPush(ws: Workspace, bucketDir: string) {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AQE_') && k !== 'STORAGE_EMULATOR_HOST') env[k] = v;
  const args = ['--import', 'tsx', 'uploader/cli.ts', 'push', '--no-load', '--json', '--workspace', ws.dir, '--env', 'bench', '--bucket', pathToFileURL(bucketDir).href];
  // the same CLI doing nothing (--help): how much of the push's peak is start-up
  const idle = await runMeasured(process.execPath, ['--import', 'tsx', 'uploader/cli.ts', '--help'], { cwd: REPO_ROOT, env });
  const run = await runMeasured(process.execPath, args, { cwd: REPO_ROOT, env });
  if (run.code !== 0) throw new Error(`scale-bench: aqe-upload push exited with ${run.code ?? run.signal}: ${run.stderr.slice(-2000)}`);
  const result = JSON.parse(run.stdout) as { manifestKey: string | null; partial: boolean; durationMs: number; totals: { bytes: number; uploadedBytes: number; captured: number } };
  if (!result.manifestKey || result.partial) throw new Error(`scale-bench: push wrote no complete snapshot: ${run.stdout.slice(0, 2000)}`);
  return { ...result, manifestKey: result.manifestKey, wallMs: run.wallMs, peakRssMb: run.peakRssMb, idleRssMb: idle.peakRssMb };
}

/** Raw COPY of the big table's rows (read + encode + COPY) into an unindexed, logged table, one transaction. */
async function rawCopy(db: PgDatabase, file: string): Promise<{ rows: number; seconds: number }> {
  await db.exec('DROP TABLE IF EXISTS public.bench_raw; CREATE TABLE public.bench_raw (id bigint, key text, value text, created_at bigint)');
  const sqlite = new Database(file, { readonly: true });
  try {
    const stmt = sqlite.prepare(`SELECT id, key, value, created_at FROM ${BIG_SOURCE.table} ORDER BY id`).raw();
    const started = performance.now();
    const rows = await db.transaction((tx) =>
      tx.copyRows(
        'public.bench_raw',
        ['id', 'key', 'value', 'created_at'],
        (function* () {
          for (const row of stmt.iterate()) {
            const [id, key, value, at] = row as [number, string, string, number];
            yield [String(id), encodeCopyValue(key, 'text'), encodeCopyValue(value, 'text'), String(at)];
          }
        })(),
      ),
    );
    return { rows, seconds: (performance.now() - started) / 1000 };
  } finally {
    sqlite.close();
    await db.exec('DROP TABLE IF EXISTS public.bench_raw');
  }
}

const fmtMb = (mb: number) => `${mb.toFixed(0)} MB`;
const backendLine = (m: BackendMemory) => `VmHWM ${fmtMb(m.peakHwmMb)}, private (RssAnon, sampled) ${fmtMb(m.peakAnonMb)}, ${m.backends} backend(s)`;

export async function run(opts: BenchOptions): Promise<BenchFigure[]> {
  const n = opts.quick ? 100_000 : 1_000_000;
  await mkdir(opts.workDir, { recursive: true });
  try {
    const ws = await buildScaleWorkspace(join(opts.workDir, 'ws'), n);
    const size = `${(ws.bytes / MB).toFixed(0)} MB`;
    opts.log(`scale-bench: workspace ${size} in ${ws.files.length} files (big source ${n} rows × ${PAYLOAD} B values)`);

    const hash = await runChild('test/bench/support/child-hash-files.ts', ws.files);
    const hashSeconds = Number(hash['ms']) / 1000;
    const bucket = join(opts.workDir, 'bucket');
    const push = await cliPush(ws, bucket);
    const pushSeconds = push.wallMs / 1000;
    opts.log(
      `scale-bench push (CLI): ${pushSeconds.toFixed(1)} s process wall (${(push.durationMs / 1000).toFixed(1)} s inside), ${(push.totals.bytes / MB).toFixed(0)} MB → ${(push.totals.uploadedBytes / MB).toFixed(0)} MB gzip, ${(push.totals.bytes / MB / pushSeconds).toFixed(1)} MB/s, peak RSS ${fmtMb(push.peakRssMb)} (the CLI running --help: ${fmtMb(push.idleRssMb)}); read+sha256 ${hashSeconds.toFixed(1)} s, peak RSS ${fmtMb(hash.maxRssMb)}`,
    );

    const cluster = await startPostgresCluster({ durable: true });
    try {
      const tdb = await createTestDatabase('bench_scale', cluster.adminUrl);
      const db = new PgDatabase(tdb.url);
      try {
        const { result: load, backend: loadBackend } = await withBackendWatch(cluster.adminUrl, tdb.name, () =>
          runChild('test/bench/child-load.ts', [bucket, push.manifestKey, tdb.url]),
        );
        const loaded = Number(load['rows']);
        const loadSeconds = Number(load['ms']) / 1000;
        const big = await db.query<{ n: string | number }>("SELECT count(*) AS n FROM aqe.kv_entries WHERE source_env = 'bench' AND source_id = $1", [BIG_SOURCE.id]);
        if (Number(big.rows[0]?.n) !== n) throw new Error(`scale-bench: aqe.kv_entries holds ${String(big.rows[0]?.n)} rows of ${BIG_SOURCE.id}, expected ${n}`);
        if (!(loaded >= n)) throw new Error(`scale-bench: the load read ${loaded} rows, expected at least ${n}: ${JSON.stringify(load)}`);
        opts.log(
          `scale-bench load: ${loaded} rows in ${loadSeconds.toFixed(1)} s (${Math.round(loaded / loadSeconds)} rows/s; ${(load.wallMs / 1000).toFixed(1)} s process wall), loader peak RSS ${fmtMb(load.maxRssMb)} (${fmtMb(Number(load['rssBeforeLoadMb']))} before the load); backend ${backendLine(loadBackend)}; ${JSON.stringify(load['totals'])}`,
        );

        await db.exec('CHECKPOINT');
        const { result: copy, backend: copyBackend } = await withBackendWatch(cluster.adminUrl, tdb.name, () => rawCopy(db, ws.bigFile));
        if (copy.rows !== n) throw new Error(`scale-bench: raw COPY wrote ${copy.rows} rows, expected ${n}`);
        const copyRate = copy.rows / copy.seconds;
        opts.log(`scale-bench raw COPY: ${copy.rows} rows in ${copy.seconds.toFixed(1)} s (${Math.round(copyRate)} rows/s); backend ${backendLine(copyBackend)}`);

        const rows = n.toLocaleString('en-US');
        const loadRate = loaded / loadSeconds;
        return [
          {
            name: `push a ${size} workspace (${ws.files.length} files, ${rows}-row big source) with the real CLI, push --no-load`,
            value: Number(pushSeconds.toFixed(1)),
            unit: 's',
            baseline: { name: 'read + sha256 of the same files, separate process', value: Number(hashSeconds.toFixed(1)), unit: 's' },
            ratio: Number((hashSeconds / pushSeconds).toFixed(3)),
            ratioLabel: 'of read + sha256 speed',
          },
          {
            name: `peak RSS of the push process (${size} workspace)`,
            value: Math.round(push.peakRssMb),
            unit: 'MB',
            baseline: { name: 'process that only reads + sha256 the same files', value: Math.round(hash.maxRssMb), unit: 'MB' },
            ratio: Number((push.peakRssMb / hash.maxRssMb).toFixed(2)),
            ratioLabel: 'of the read+hash process',
            target: '< 200 MB (as push-bench)',
            pass: push.peakRssMb < 200,
          },
          {
            name: `load the ${size} snapshot (${loaded.toLocaleString('en-US')} rows), loadSnapshot end to end, time`,
            value: Number(loadSeconds.toFixed(1)),
            unit: 's',
            baseline: { name: `raw COPY of the big table's ${rows} rows into an unindexed table`, value: Number(copy.seconds.toFixed(1)), unit: 's' },
            ratio: Number((copy.seconds / loadSeconds).toFixed(3)),
            ratioLabel: 'of raw COPY speed',
          },
          {
            name: `load the ${size} snapshot, throughput`,
            value: Math.round(loadRate),
            unit: 'rows/s',
            baseline: { name: 'raw COPY of the big table into an unindexed table', value: Math.round(copyRate), unit: 'rows/s' },
            ratio: Number((loadRate / copyRate).toFixed(3)),
            ratioLabel: 'of raw COPY',
          },
          {
            name: `peak RSS of the loader process (${size} snapshot)`,
            value: Math.round(load.maxRssMb),
            unit: 'MB',
            baseline: { name: 'same process after connect + migrate, before the load', value: Math.round(Number(load['rssBeforeLoadMb'])), unit: 'MB' },
            ratio: Number((load.maxRssMb / Number(load['rssBeforeLoadMb'])).toFixed(2)),
            ratioLabel: 'of the process before the load',
            target: '< 300 MB (as load-bench)',
            pass: load.maxRssMb < 300,
          },
          {
            name: `peak RSS (VmHWM, incl. shared buffers touched) of the PostgreSQL backend serving the load`,
            value: Math.round(loadBackend.peakHwmMb),
            unit: 'MB',
            baseline: { name: 'backend serving the raw COPY', value: Math.round(copyBackend.peakHwmMb), unit: 'MB' },
            ratio: Number((loadBackend.peakHwmMb / copyBackend.peakHwmMb).toFixed(2)),
            ratioLabel: 'of the raw COPY backend',
          },
        ];
      } finally {
        await db.close();
        await tdb.drop();
      }
    } finally {
      await cluster.stop();
    }
  } finally {
    await rm(opts.workDir, { recursive: true, force: true });
  }
}
