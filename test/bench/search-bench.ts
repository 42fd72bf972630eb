// Vector search (issue: embeddings/search) on PGlite + pgvector, through the product path
// (searchByVector): N random unit 384-d vectors (clustered like real embeddings; uniform ones as
// the no-target worst case) COPYed into aqe.qe_patterns (embedding_status
// 'done'), the HNSW index built as migration 005 defines it, then timed top-10 queries. Recall@10
// is measured against exact search (brute force in JS over the same vectors) in the same run.
// Reports, never fails.
import type { Database, DatabaseConnection } from '../../functions/db/database.js';
import { encodeVectorLiteral } from '../../functions/db/copy-encoding.js';
import { EMBEDDING_DIM } from '../../functions/db/dialect.js';
import { ensureMigrated } from '../../functions/db/migrate.js';
import { PgliteDatabase } from '../../functions/db/pglite-database.js';
import { searchByVector } from '../../functions/search/search.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';

const DIM = EMBEDDING_DIM;
const K = 10;
const QUERIES = 200;
const WARMUP = 20;
const TABLE = 'qe_patterns';
const INDEX = 'qe_patterns_embedding_hnsw_idx';

/** Deterministic xorshift + Box–Muller normal samples. */
function gaussian(seed: number): () => number {
  let x = seed >>> 0 || 1;
  const u = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

function unit(v: Float32Array): Float32Array {
  let s = 0;
  for (const x of v) s += x * x;
  const n = Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / n;
  return v;
}

/** Rounded to 6 decimals: the text form is half as long (PGlite parses every float). */
function round6(v: Float32Array): Float32Array {
  for (let i = 0; i < v.length; i++) v[i] = Math.round((v[i] as number) * 1e6) / 1e6;
  return v;
}

/**
 * Random unit vectors. `clustered` (the figures): topics like real sentence embeddings, i.e.
 * one random unit centre per 100 rows and each row its centre plus Gaussian noise (sigma 0.06 per
 * dimension), normalised. `uniform`: uniformly random directions, the worst case for any
 * approximate index (every neighbour is about as far as any other), reported without a target.
 */
class VectorSource {
  private readonly g: () => number;
  private readonly centres: Float32Array[] = [];
  constructor(
    readonly mode: 'clustered' | 'uniform',
    rows: number,
    seed: number,
  ) {
    this.g = gaussian(seed);
    if (mode === 'clustered') for (let c = 0; c < Math.max(1, Math.round(rows / 100)); c++) this.centres.push(this.fresh());
  }
  private fresh(): Float32Array {
    const v = new Float32Array(DIM);
    for (let i = 0; i < DIM; i++) v[i] = this.g();
    return unit(v);
  }
  next(): Float32Array {
    if (this.mode === 'uniform') return round6(this.fresh());
    const c = this.centres[Math.floor(Math.abs(this.g() * 1e6)) % this.centres.length] as Float32Array;
    const v = new Float32Array(DIM);
    for (let i = 0; i < DIM; i++) v[i] = (c[i] as number) + 0.06 * this.g();
    return round6(unit(v));
  }
  many(count: number): Float32Array {
    const out = new Float32Array(count * DIM);
    for (let r = 0; r < count; r++) out.set(this.next(), r * DIM);
    return out;
  }
}

/** Exact top-k row indexes by cosine (all vectors unit: dot product). */
function exactTopK(data: Float32Array, rows: number, q: Float32Array, k: number): number[] {
  const best: { i: number; s: number }[] = [];
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const o = r * DIM;
    for (let i = 0; i < DIM; i++) s += (data[o + i] as number) * (q[i] as number);
    if (best.length < k || s > best[best.length - 1]!.s) {
      best.push({ i: r, s });
      best.sort((a, b) => b.s - a.s);
      if (best.length > k) best.pop();
    }
  }
  return best.map((b) => b.i);
}

const keyOf = (r: number) => `p-${r}`;

async function fill(db: DatabaseConnection, data: Float32Array, rows: number): Promise<{ copyMs: number; indexMs: number }> {
  const def = (await db.query<{ indexdef: string }>('SELECT indexdef FROM pg_indexes WHERE schemaname = $1 AND indexname = $2', ['aqe', INDEX])).rows[0]?.indexdef;
  if (!def) throw new Error(`search-bench: migration did not create ${INDEX}`);
  await db.exec(`DROP INDEX aqe.${INDEX}`);
  let t0 = performance.now();
  await db.copyRows(
    `aqe.${TABLE}`,
    ['source_env', 'source_id', 'source_table', 'source_key', 'content_hash', 'name', 'search_text', 'embedding', 'embedding_model', 'embedding_status', 'first_run_id', 'last_run_id', 'snapshot_at'],
    (function* () {
      for (let r = 0; r < rows; r++) {
        const v = encodeVectorLiteral(data.subarray(r * DIM, (r + 1) * DIM), DIM);
        yield ['bench', 'bench', TABLE, keyOf(r), `h${r}`, `pattern ${r}`, `bench pattern ${r}`, v, 'bench/random', 'done', '1', '1', '2026-01-01T00:00:00Z'];
      }
    })(),
  );
  const copyMs = performance.now() - t0;
  // Built after the rows are in, with the migration's own statement (as a first load would see
  // after a bulk insert; incremental inserts build the same graph, slower).
  t0 = performance.now();
  await db.transaction(async (tx) => {
    await tx.exec(`SET LOCAL maintenance_work_mem = '512MB'`);
    await tx.exec(def);
  });
  const indexMs = performance.now() - t0;
  await db.exec(`ANALYZE aqe.${TABLE}`);
  return { copyMs, indexMs };
}

interface Timed {
  p50: number;
  p95: number;
  hits: string[][];
}

async function timeQueries(db: Database, queries: readonly Float32Array[], tables: readonly string[] | undefined): Promise<Timed> {
  for (const q of queries.slice(0, WARMUP)) await searchByVector(db, q, { limit: K, ...(tables ? { tables } : {}) });
  const times: number[] = [];
  const hits: string[][] = [];
  for (const q of queries) {
    const t0 = performance.now();
    const res = await searchByVector(db, q, { limit: K, ...(tables ? { tables } : {}) });
    times.push(performance.now() - t0);
    hits.push(res.hits.map((h) => h.key));
  }
  times.sort((a, b) => a - b);
  const pct = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))] as number;
  return { p50: pct(0.5), p95: pct(0.95), hits };
}

function recall(hits: string[][], truth: number[][]): number {
  let found = 0;
  let total = 0;
  hits.forEach((h, i) => {
    const want = new Set((truth[i] ?? []).map(keyOf));
    total += want.size;
    for (const k of h) if (want.has(k)) found++;
  });
  return found / total;
}

async function scenario(opts: BenchOptions, rows: number, mode: 'clustered' | 'uniform', withRecall: boolean) {
  const connection = await PgliteDatabase.open();
  try {
    const db = await ensureMigrated(connection);
    const dialect = db.dialect.dialect;
    if (dialect !== 'pgvector') throw new Error(`search-bench: expected the pgvector dialect on PGlite, got ${dialect}`);
    const source = new VectorSource(mode, rows, 20261122 + rows);
    const data = source.many(rows);
    const { copyMs, indexMs } = await fill(db, data, rows);
    opts.log(`search-bench ${rows} ${mode} rows: COPY ${(copyMs / 1000).toFixed(1)} s (${Math.round(rows / (copyMs / 1000))} rows/s), HNSW build ${(indexMs / 1000).toFixed(1)} s`);
    // Queries come from the same distribution (new points, not stored ones).
    const queries = Array.from({ length: QUERIES + WARMUP }, () => source.next());
    const measured = queries.slice(WARMUP);
    const one = await timeQueries(db, queries, [TABLE]);
    const all = await timeQueries(db, queries, undefined);
    opts.log(`search-bench ${rows} ${mode} rows: searchByVector p50 ${one.p50.toFixed(2)} ms / p95 ${one.p95.toFixed(2)} ms (table ${TABLE}); all ${8} embedded tables p50 ${all.p50.toFixed(2)} ms / p95 ${all.p95.toFixed(2)} ms`);
    let exactSql: Timed | null = null;
    let r: { hnsw: number } | null = null;
    if (withRecall) {
      const t0 = performance.now();
      const truth = measured.map((q) => exactTopK(data, rows, q, K));
      const jsMs = (performance.now() - t0) / measured.length;
      // Exact search in SQL too (index scans off), as a latency baseline and a check of the JS truth.
      await db.exec('SET enable_indexscan = off');
      exactSql = await timeQueries(db, queries, [TABLE]);
      await db.exec('RESET enable_indexscan');
      const hnswHits = one.hits.slice(WARMUP);
      r = { hnsw: recall(hnswHits, truth) };
      opts.log(`search-bench ${rows} ${mode} rows: recall@${K} ${r.hnsw.toFixed(3)}; exact SQL recall ${recall(exactSql.hits.slice(WARMUP), truth).toFixed(3)}, exact SQL p50 ${exactSql.p50.toFixed(1)} ms, JS brute force ${jsMs.toFixed(1)} ms/query`);
    }
    return { one, all, exactSql, recall: r, copyMs, indexMs };
  } finally {
    await connection.close();
  }
}

export async function run(opts: BenchOptions): Promise<BenchFigure[]> {
  const small = await scenario(opts, 10_000, 'clustered', true);
  const uniform = await scenario(opts, 10_000, 'uniform', true);
  const bigRows = opts.quick ? 20_000 : 100_000;
  const big = await scenario(opts, bigRows, 'clustered', false);
  const figures: BenchFigure[] = [
    {
      name: `searchByVector top-${K}, 10K clustered rows, HNSW (PGlite + pgvector), p50`,
      value: Number(small.one.p50.toFixed(2)),
      unit: 'ms',
      baseline: { name: 'exact search (index scans off), p50', value: Number(small.exactSql!.p50.toFixed(2)), unit: 'ms' },
      ratio: Number((small.exactSql!.p50 / small.one.p50).toFixed(1)),
      ratioLabel: 'x faster than exact',
      target: '< 3 ms',
      pass: small.one.p50 < 3,
    },
    {
      name: `searchByVector recall@${K}, 10K clustered rows, HNSW`,
      value: Number(small.recall!.hnsw.toFixed(3)),
      unit: '',
      baseline: { name: 'exact search (brute force)', value: 1, unit: '' },
      ratio: Number(small.recall!.hnsw.toFixed(3)),
      target: '>= 0.95',
      pass: small.recall!.hnsw >= 0.95,
    },
    {
      name: `recall@${K}, 10K UNIFORM random vectors (worst case, no target), HNSW ef_search 40`,
      value: Number(uniform.recall!.hnsw.toFixed(3)),
      unit: '',
      baseline: { name: 'exact search (brute force)', value: 1, unit: '' },
      ratio: Number(uniform.recall!.hnsw.toFixed(3)),
    },
    {
      name: `searchByVector top-${K}, 10K UNIFORM random vectors, p50 (no target)`,
      value: Number(uniform.one.p50.toFixed(2)),
      unit: 'ms',
      baseline: { name: 'exact search (index scans off), p50', value: Number(uniform.exactSql!.p50.toFixed(2)), unit: 'ms' },
      ratio: Number((uniform.exactSql!.p50 / uniform.one.p50).toFixed(1)),
      ratioLabel: 'x faster than exact',
    },
    {
      name: `searchByVector top-${K}, 10K rows, all embedded tables (default), p50`,
      value: Number(small.all.p50.toFixed(2)),
      unit: 'ms',
      baseline: { name: 'one table', value: Number(small.one.p50.toFixed(2)), unit: 'ms' },
      ratio: Number((small.all.p50 / small.one.p50).toFixed(2)),
      ratioLabel: 'of one table',
    },
    {
      name: `searchByVector top-${K}, ${bigRows / 1000}K rows, HNSW, p50`,
      value: Number(big.one.p50.toFixed(2)),
      unit: 'ms',
      baseline: { name: '10K rows p50', value: Number(small.one.p50.toFixed(2)), unit: 'ms' },
      ratio: Number((big.one.p50 / small.one.p50).toFixed(2)),
      ratioLabel: 'of 10K rows',
    },
    {
      name: `searchByVector top-${K}, ${bigRows / 1000}K rows, HNSW, p95`,
      value: Number(big.one.p95.toFixed(2)),
      unit: 'ms',
      baseline: { name: '10K rows p95', value: Number(small.one.p95.toFixed(2)), unit: 'ms' },
      ratio: Number((big.one.p95 / small.one.p95).toFixed(2)),
      ratioLabel: 'of 10K rows',
    },
  ];
  return figures;
}
