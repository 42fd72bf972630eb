// The ruvector dialect, executed: PGlite with a stand-in of the ruvector extension built from
// pgvector's C functions (support/ruvector-standin.ts). The migrator detects it as production
// would, applies the ruvector variants of the migrations, the loader merges vectors through the
// dialect's casts, and search runs the index and the exact plans. This proves the names, types,
// operators and DDL of our ruvector SQL resolve; not ruvector's engine (see the stand-in's header).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDatabase } from '../../functions/db/pglite-database.js';
import type { Embedder } from '../../functions/embed/embedder.js';
import { ensureMigrated } from '../../functions/db/migrate.js';
import { loadSnapshot } from '../../functions/loader/load-snapshot.js';
import { searchByVector } from '../../functions/search/search.js';
import { LocalDirBlobStore } from '../../functions/storage/local-dir-blob-store.js';
import { chooseEmbedder, STANDIN_MODEL_DIR, STANDIN_MODEL_ID } from '../../uploader/local/local-sync.js';
import { pushWorkspace, tempDir } from '../e2e/support/e2e-fixtures.js';
import { buildWorkspace } from '../support/workspace-builder.js';
import { ruvectorStandinExtension } from './support/ruvector-standin.js';

let db: PgliteDatabase;
let embedder: Embedder;
let work: { dir: string; remove: () => Promise<void> };
let manifest: string;
let store: LocalDirBlobStore;

beforeAll(async () => {
  const choice = await chooseEmbedder({}, { modelDir: STANDIN_MODEL_DIR, modelId: STANDIN_MODEL_ID });
  if (!choice.embedder) throw new Error(`stand-in model did not load: ${choice.reason}`);
  embedder = choice.embedder;
  work = await tempDir('aqe-ruvector-');
  store = new LocalDirBlobStore(`${work.dir}/bucket`);
  const ws = await buildWorkspace(`${work.dir}/ws`, { volume: 'small', seed: 21 });
  await ws.close();
  manifest = (await pushWorkspace(ws.root, 'laptop', store)).manifestKey!;
  db = await PgliteDatabase.open({ extensions: { ruvector: ruvectorStandinExtension() } });
}, 120_000);

afterAll(async () => {
  await db?.close();
  await work?.remove();
});

describe.sequential('the ruvector dialect on a stand-in of the extension', () => {
  it('is detected and migrated: ruvector(384) columns with the ruvector_dims CHECK, hnsw indexes with ruvector_cosine_ops, no pgvector', async () => {
    expect((await ensureMigrated(db)).dialect.dialect).toBe('ruvector');
    const ext = await db.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname IN ('vector', 'ruvector')`);
    expect(ext.rows).toEqual([{ extname: 'ruvector' }]);
    const cols = await db.query<{ t: string; n: string }>(
      `SELECT format_type(atttypid, atttypmod) AS t, count(*)::text AS n FROM pg_attribute WHERE attrelid::regclass::text LIKE 'aqe.%' AND attname = 'embedding' AND NOT attisdropped GROUP BY 1`,
    );
    expect(cols.rows).toEqual([{ t: 'ruvector(384)', n: expect.any(String) }]);
    const idx = await db.query<{ opc: string; am: string }>(
      `SELECT DISTINCT opc.opcname AS opc, am.amname AS am FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_opclass opc ON opc.oid = ANY(i.indclass::oid[]) JOIN pg_am am ON am.oid = c.relam WHERE c.relname LIKE '%_embedding_hnsw_idx'`,
    );
    expect(idx.rows).toEqual([{ opc: 'ruvector_cosine_ops', am: 'hnsw' }]);
    // ruvector does not enforce the typmod: the CHECK on ruvector_dims must (a value without typmod)
    const three = `'[1,2,3]'::ruvector`;
    await expect(db.exec(`INSERT INTO aqe.embedding_cache (text_hash, model, dim, embedding) VALUES ('x', 'm', 384, ${three})`)).rejects.toThrow(/embedding_cache_embedding_dims_check/);
  });

  it('loads a snapshot: vectors merged through the dialect, text embedded into ruvector columns, the cache and source vectors', async () => {
    const outcome = await loadSnapshot({ store, db, embedding: { embedder, budgetMs: 60_000 } }, manifest);
    expect(outcome.status).toBe('loaded');
    const done = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM aqe.qe_patterns WHERE embedding IS NOT NULL AND ruvector_dims(embedding) = 384`);
    expect(done.rows[0]!.n).toBeGreaterThan(0);
    const cache = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM aqe.embedding_cache`);
    expect(cache.rows[0]!.n).toBeGreaterThan(0);
    const text = await db.query<{ v: string }>(`SELECT embedding::text AS v FROM aqe.qe_patterns WHERE embedding IS NOT NULL LIMIT 1`);
    expect(JSON.parse(text.rows[0]!.v)).toHaveLength(384);
  });

  it('searches through the hnsw index when unfiltered, exactly when filtered, and both agree on the nearest rows', async () => {
    const [query] = await embedder.embed(['flaky test retry with backoff']);
    const indexed = await searchByVector(await ensureMigrated(db), query!, { limit: 5 });
    expect(indexed.exact).toBe(false);
    expect(indexed.hits.length).toBeGreaterThan(0);
    const sims = indexed.hits.map((h) => h.similarity!);
    expect([...sims].sort((a, b) => b - a)).toEqual(sims);
    const filtered = await searchByVector(await ensureMigrated(db), query!, { limit: 5, env: 'laptop' });
    expect(filtered.exact).toBe(true);
    expect(filtered.hits.map((h) => h.key)).toEqual(indexed.hits.map((h) => h.key));
    // a table the index plan returns short of the limit is searched again: nothing is cut
    const many = await searchByVector(await ensureMigrated(db), query!, { limit: 50 });
    const manyExact = await searchByVector(await ensureMigrated(db), query!, { limit: 50, env: 'laptop' });
    expect(many.hits.map((h) => `${h.table}/${h.key}`)).toEqual(manyExact.hits.map((h) => `${h.table}/${h.key}`));
    // the plan of an unfiltered k-NN query uses the index; `<=>` resolves to ruvector's (real)
    // (a table this small is cheaper to scan: the planner is told not to, to see the index chosen)
    const plan = await db.transaction(async (tx) => {
      await tx.exec('SET LOCAL enable_seqscan = off');
      return tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT source_key FROM aqe.qe_patterns ORDER BY embedding <=> '[${Array.from(query!).join(',')}]'::ruvector LIMIT 3`);
    });
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/qe_patterns_embedding_hnsw_idx/);
    const type = await db.query<{ t: string }>(`SELECT pg_typeof('[1,0]'::ruvector <=> '[0,1]'::ruvector)::text AS t`);
    expect(type.rows[0]!.t).toBe('real');
  });
});
