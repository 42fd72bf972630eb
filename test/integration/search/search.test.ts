// Embeddings and search through the product path: a pushed workspace loaded with the real model
// code (stand-in model), searched on PGlite (pgvector, HNSW) and native PostgreSQL (`none`, exact
// scan); cache hits on re-sync, pending rows and backfill, missing model, filters, hybrid ranking,
// HNSW vs exact agreement, and the CLI's JSON output.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConnection, Database as Db } from '../../../functions/db/database.js';
import type { VectorDialect } from '../../../functions/db/dialect.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { backfillEmbeddings } from '../../../functions/embed/backfill-embeddings.js';
import type { Embedder } from '../../../functions/embed/embedder.js';
import { ensureMigrated } from '../../../functions/db/migrate.js';
import { loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { parseVectorText, searchByText, searchByVector } from '../../../functions/search/search.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { chooseEmbedder, STANDIN_MODEL_DIR, STANDIN_MODEL_ID } from '../../../uploader/local/local-sync.js';
import { runCli } from '../../../uploader/run-cli.js';
import { pushWorkspace, tempDir } from '../../e2e/support/e2e-fixtures.js';
import { createTestDatabase } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';

let embedder: Embedder;
let work: { dir: string; remove: () => Promise<void> };
let store: LocalDirBlobStore;
const manifests: Record<string, string> = {};

beforeAll(async () => {
  const choice = await chooseEmbedder({}, { modelDir: STANDIN_MODEL_DIR, modelId: STANDIN_MODEL_ID });
  if (!choice.embedder) throw new Error(`stand-in model did not load: ${choice.reason}`);
  embedder = choice.embedder;
  work = await tempDir('aqe-search-');
  store = new LocalDirBlobStore(`${work.dir}/bucket`);
  for (const [env, seed] of [['laptop', 11], ['ci', 12]] as const) {
    const ws = await buildWorkspace(`${work.dir}/${env}`, { volume: 'small', seed });
    await ws.close();
    const push = await pushWorkspace(ws.root, env, store);
    manifests[env] = push.manifestKey!;
  }
});

afterAll(async () => {
  await work?.remove();
});

async function loadAll(db: DatabaseConnection, withModel: boolean): Promise<void> {
  for (const key of Object.values(manifests)) {
    const outcome = await loadSnapshot({ store, db, embedding: { embedder: withModel ? embedder : null, budgetMs: 60_000 } }, key);
    expect(outcome.status).toBe('loaded');
  }
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
};

describe.each([
  {
    name: 'PGlite + pgvector (HNSW)',
    dialect: 'pgvector' as VectorDialect,
    open: async () => {
      const dir = await tempDir('aqe-search-db-');
      const url = `pglite://${dir.dir}`;
      const { openDatabase } = await import('../../../functions/db/open-database.js');
      const db = await openDatabase(url);
      return { db, url, close: async () => (await db.close(), await dir.remove()) };
    },
  },
  {
    name: 'native PostgreSQL (none: exact scan)',
    dialect: 'none' as VectorDialect,
    open: async () => {
      const tdb = await createTestDatabase('search');
      const db = new PgDatabase(tdb.url);
      return { db, url: tdb.url, close: async () => (await db.close(), await tdb.drop()) };
    },
  },
])('search on $name', ({ dialect, open }) => {
  let h: { db: Db; url: string; close: () => Promise<void> };

  beforeAll(async () => {
    const opened = await open();
    h = { ...opened, db: await ensureMigrated(opened.db) };
    expect(h.db.dialect.dialect).toBe(dialect);
    await loadAll(h.db, true);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('embeds every row that has search text, with our model and 384 dimensions', async () => {
    const res = await h.db.query<{ status: string; model: string | null; n: number | string }>(
      `SELECT embedding_status AS status, embedding_model AS model, count(*) AS n FROM aqe.qe_patterns GROUP BY 1, 2`,
    );
    expect(res.rows.map((r) => [r.status, r.model])).toEqual([['done', STANDIN_MODEL_ID]]);
    const v = await h.db.query<{ v: string }>('SELECT embedding::text AS v FROM aqe.qe_patterns LIMIT 1');
    expect(parseVectorText(v.rows[0]!.v)).toHaveLength(384);
  });

  it('ranks rows sharing the query words first, with similarity descending', async () => {
    const query = 'flaky retry';
    const [vec] = await embedder.embed([query]);
    const result = await searchByVector(h.db, vec!, { limit: 10 });
    expect(result.hits.length).toBe(10);
    const sims = result.hits.map((x) => x.similarity!);
    expect([...sims].sort((a, b) => b - a)).toEqual(sims);
    const top = result.hits.slice(0, 3).map((x) => x.excerpt.toLowerCase());
    for (const t of top) expect(t.includes('flaky') || t.includes('retry')).toBe(true);
    expect(result.exact).toBe(dialect === 'none');
    if (dialect === 'none') expect(result.notes.join(' ')).toMatch(/exact/);
  });

  it('agrees with an exact search computed here (recall@10 >= 0.9)', async () => {
    const all = await h.db.query<{ k: string; v: string }>(
      `SELECT source_env || '/' || source_id || '/' || source_table || '/' || source_key AS k, embedding::text AS v FROM aqe.memory_entries WHERE embedding IS NOT NULL`,
    );
    for (const query of ['coverage auth parser', 'mutation boundary cache', 'agents default jest']) {
      const [vec] = await embedder.embed([query]);
      const exact = all.rows
        .map((r) => ({ k: r.k, s: cosine(vec!, parseVectorText(r.v)) }))
        .sort((a, b) => b.s - a.s)
        .slice(0, 10)
        .map((r) => r.k);
      const got = await searchByVector(h.db, vec!, { limit: 10, tables: ['memory_entries'] });
      const keys = got.hits.map((x) => `${x.env}/${x.sourceId}/${x.sourceTable}/${x.key}`);
      const recall = keys.filter((k) => exact.includes(k)).length / exact.length;
      expect(recall).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('applies filters without cutting results short', async () => {
    const [vec] = await embedder.embed(['retry flaky coverage']);
    const byEnv = await searchByVector(h.db, vec!, { limit: 8, env: 'ci' });
    expect(byEnv.hits.length).toBe(8);
    expect(new Set(byEnv.hits.map((x) => x.env))).toEqual(new Set(['ci']));
    const byTable = await searchByVector(h.db, vec!, { limit: 5, tables: ['qe_patterns'] });
    expect(byTable.hits.length).toBe(5);
    expect(new Set(byTable.hits.map((x) => x.table))).toEqual(new Set(['qe_patterns']));
    const domains = await h.db.query<{ d: string }>(`SELECT coalesce(qe_domain, domain) AS d FROM aqe.qe_patterns GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`);
    const domain = domains.rows[0]!.d;
    const byDomain = await searchByVector(h.db, vec!, { limit: 3, tables: ['qe_patterns'], domain });
    expect(byDomain.hits.length).toBeGreaterThan(0);
    const check = await h.db.query<{ n: number | string }>(
      `SELECT count(*) AS n FROM aqe.qe_patterns WHERE source_key = ANY($1::text[]) AND coalesce(qe_domain, domain) <> $2`,
      [byDomain.hits.map((x) => x.key), domain],
    );
    expect(Number(check.rows[0]!.n)).toBe(0);
    const threshold = await searchByVector(h.db, vec!, { limit: 50, threshold: 0.3 });
    for (const x of threshold.hits) expect(x.similarity!).toBeGreaterThanOrEqual(0.3 - 1e-6);
  });

  it('never compares vectors of another model: says how many were left out and offers embed --reembed, which brings them back', async () => {
    const [vec] = await embedder.embed(['flaky retry']);
    const before = await searchByVector(h.db, vec!, { limit: 3, model: embedder.modelId });
    const top = before.hits[0]!;
    expect(before.notes.join(' ')).not.toMatch(/another model/);
    // the top row's vector now claims another model (a stand-in's vector of old, say)
    await h.db.query(`UPDATE aqe.${top.table} SET embedding_model = 'sha256:00000000deadbeef' WHERE source_env = $1 AND source_key = $2 AND source_table = $3`, [top.env, top.key, top.sourceTable]);
    const after = await searchByVector(h.db, vec!, { limit: 3, model: embedder.modelId });
    expect(after.hits.map((x) => x.key)).not.toContain(top.key);
    expect(after.notes.join(' ')).toMatch(/1 row\(s\) embedded by another model \(sha256:00000000deadbeef\) were not compared.*aqe-upload embed --reembed/);
    const reembed = await backfillEmbeddings(h.db, { embedder, budgetMs: 60_000, reembed: true });
    expect(reembed.requeued).toBe(1);
    const again = await searchByVector(h.db, vec!, { limit: 3, model: embedder.modelId });
    expect(again.hits[0]?.key).toBe(top.key);
    expect(again.notes.join(' ')).not.toMatch(/another model/);
  });

  it('leaves out rows marked missing unless asked, and shows each hit\'s environment and age', async () => {
    const [vec] = await embedder.embed(['flaky retry']);
    const first = await searchByVector(h.db, vec!, { limit: 5, model: embedder.modelId });
    const top = first.hits[0]!;
    expect(['laptop', 'ci']).toContain(top.env);
    expect(top.updatedAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(top.missing).toBe(false);
    await h.db.query(`UPDATE aqe.${top.table} SET missing_since = now() WHERE source_env = $1 AND source_key = $2 AND source_table = $3`, [top.env, top.key, top.sourceTable]);
    try {
      const without = await searchByVector(h.db, vec!, { limit: 5, model: embedder.modelId });
      expect(without.hits.map((x) => x.key)).not.toContain(top.key);
      const withMissing = await searchByVector(h.db, vec!, { limit: 5, model: embedder.modelId, includeMissing: true });
      expect(withMissing.hits.find((x) => x.key === top.key)).toMatchObject({ missing: true, env: top.env });
      const text = await searchByText(h.db, 'flaky retry', { limit: 50 });
      expect(text.hits.map((x) => `${x.env}/${x.key}`)).not.toContain(`${top.env}/${top.key}`);
    } finally {
      await h.db.query(`UPDATE aqe.${top.table} SET missing_since = NULL WHERE source_env = $1 AND source_key = $2 AND source_table = $3`, [top.env, top.key, top.sourceTable]);
    }
  });

  it('fuses full-text rank with --hybrid (a row matching both ranks above rows matching one)', async () => {
    const query = 'flaky';
    const [vec] = await embedder.embed([query]);
    const hybrid = await searchByVector(h.db, vec!, { limit: 10, hybrid: true, queryText: query });
    const text = await searchByText(h.db, query, { limit: 50 });
    const textKeys = new Set(text.hits.map((x) => `${x.table}/${x.key}`));
    expect(text.hits.length).toBeGreaterThan(0);
    for (const x of text.hits) {
      const row = await h.db.query<{ t: string }>(`SELECT search_text AS t FROM aqe.${x.table} WHERE source_env = $1 AND source_key = $2`, [x.env, x.key]);
      expect(row.rows[0]!.t.toLowerCase()).toMatch(/\bflaky\b/);
    }
    // RRF: the best hybrid hit is found by both rankings
    expect(textKeys.has(`${hybrid.hits[0]!.table}/${hybrid.hits[0]!.key}`)).toBe(true);
    expect(hybrid.hits[0]!.similarity).not.toBeNull();
  });
});

describe('embedding work across syncs', () => {
  let tdb: Awaited<ReturnType<typeof createTestDatabase>>;
  let db: PgDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase('embed_sync');
    db = new PgDatabase(tdb.url);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('loads without a model (rows pending, one warning), backfills later, and re-syncs with 0 inferences', async () => {
    const missing = await chooseEmbedder({ modelDir: `${work.dir}/no-such-model` });
    expect(missing.embedder).toBeNull();
    expect(missing.reason).toMatch(/AQE_MODEL_DIR/);

    const first = await loadSnapshot({ store, db, embedding: { embedder: null, budgetMs: 10_000, unavailableReason: missing.reason! } }, manifests['laptop']!);
    if (first.status !== 'loaded') throw new Error(first.status);
    expect(first.embedding!.pending).toBeGreaterThan(0);
    expect(first.embedding!.embedded).toBe(0);
    expect(first.warnings.filter((w) => /model/i.test(w))).toHaveLength(1);

    const before = embedder.inferences;
    const filled = await backfillEmbeddings(await ensureMigrated(db), { embedder, budgetMs: 60_000 });
    expect(filled.pending).toBe(0);
    expect(filled.embedded).toBe(first.embedding!.pending);
    expect(embedder.inferences - before).toBeGreaterThan(0);

    // same content again in a new snapshot: nothing pending, nothing embedded
    const again = await pushWorkspace(`${work.dir}/laptop`, 'laptop', store);
    const mid = embedder.inferences;
    const second = await loadSnapshot({ store, db, embedding: { embedder, budgetMs: 60_000 } }, again.manifestKey!);
    if (second.status !== 'loaded') throw new Error(second.status);
    expect(second.totals.inserted + second.totals.updated).toBe(0);
    expect(second.embedding!.inferences).toBe(0);
    expect(embedder.inferences).toBe(mid);

    // a budget of 0 leaves new text pending (cache only), and the cache serves the other environment
    const ci = await loadSnapshot({ store, db, embedding: { embedder, budgetMs: 0 } }, manifests['ci']!);
    if (ci.status !== 'loaded') throw new Error(ci.status);
    expect(ci.embedding!.inferences).toBe(0);
  });
});

describe('aqe-upload search (CLI)', () => {
  it('prints one JSON document with hits, scores and the dialect, and rejects bad flags with exit 2', async () => {
    const dbDir = await tempDir('aqe-search-cli-');
    try {
      const url = `pglite://${dbDir.dir}`;
      const { openDatabase } = await import('../../../functions/db/open-database.js');
      const db = await openDatabase(url);
      await loadAll(db, true);
      await db.close();
      const out: string[] = [];
      const err: string[] = [];
      const io = {
        stdout: new Writable({ write: (c, _e, cb) => (out.push(String(c)), cb()) }),
        stderr: new Writable({ write: (c, _e, cb) => (err.push(String(c)), cb()) }),
        env: { AQE_MODEL_DIR: STANDIN_MODEL_DIR },
        cwd: work.dir,
      };
      const code = await runCli(['search', 'flaky retry', '--database', url, '--limit', '3', '--json'], io);
      expect(err.join('')).toBe('');
      expect(code).toBe(0);
      const doc = JSON.parse(out.join(''));
      expect(doc.query).toBe('flaky retry');
      expect(doc.dialect).toBe('pgvector');
      expect(doc.hits).toHaveLength(3);
      expect(typeof doc.hits[0].score).toBe('number');
      out.length = 0;
      expect(await runCli(['search', 'x', '--database', url, '--threshold', '7'], io)).toBe(2);
      expect(err.join('')).toMatch(/--threshold 7.*\n.*Try:/s);
    } finally {
      await dbDir.remove();
    }
  });
});
