// The loader's core contract, run the same way on native PostgreSQL (dialect `none`) and on PGlite
// with pgvector: a pushed workspace lands completely and faithfully (every source kind, every
// quirk), loads are idempotent, a late older snapshot never overwrites newer data, two
// environments never touch each other, and concurrent loaders are serialised.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConnection as Db } from '../../../functions/db/database.js';
import type { VectorDialect } from '../../../functions/db/dialect.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { ensureMigrated } from '../../../functions/db/migrate.js';
import { type LoadOutcome, loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { createTestDatabase, openTestPglite } from '../../support/postgres.js';
import { type BuiltWorkspace, buildWorkspace } from '../../support/workspace-builder.js';
import { cloudCounts, cloudRowTotal, expectedCloudCounts, pushWorkspace, rowVersions, tempDir } from '../../e2e/support/e2e-fixtures.js';

interface Backend {
  name: string;
  dialect: VectorDialect;
  /** A fresh database, and a second handle on it (another pool where the backend has one). */
  open(): Promise<{ db: Db; second: Db; close: () => Promise<void> }>;
}

const BACKENDS: Backend[] = [
  {
    name: 'native PostgreSQL',
    dialect: 'none',
    async open() {
      const tdb = await createTestDatabase('loader_core');
      const db = new PgDatabase(tdb.url);
      const second = new PgDatabase(tdb.url);
      return {
        db,
        second,
        close: async () => {
          await db.close();
          await second.close();
          await tdb.drop();
        },
      };
    },
  },
  {
    name: 'PGlite + pgvector',
    dialect: 'pgvector',
    async open() {
      // one in-process connection: a second loader shares it (PGlite serialises transactions)
      const db = await openTestPglite();
      return { db, second: db, close: () => db.close() };
    },
  },
];

function loaded(outcome: LoadOutcome): Extract<LoadOutcome, { status: 'loaded' }> {
  if (outcome.status !== 'loaded') throw new Error(`expected a load, got ${JSON.stringify(outcome)}`);
  return outcome;
}

const count = async (db: Db, sql: string, params: unknown[] = []): Promise<number> =>
  Number((await db.query<{ n: string | number }>(sql, params as never[])).rows[0]?.n ?? Number.NaN);

/** Reads rows of a SQLite file of the workspace (read-only). */
function sqliteRows<T>(ws: BuiltWorkspace, path: string, sql: string): T[] {
  const db = new Database(join(ws.root, path), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

/** Updates a SQLite file of the workspace. */
function sqliteExec(ws: BuiltWorkspace, path: string, sql: string, ...params: unknown[]): void {
  const db = new Database(join(ws.root, path));
  try {
    const info = db.prepare(sql).run(...params);
    if (info.changes < 1) throw new Error(`no row changed by ${sql}`);
  } finally {
    db.close();
  }
}

// Seed 4 makes intelligence.json hold colliding memory AND trajectory ids (second-resolution ids).
const SEED = 4;

describe.each(BACKENDS)('loader on $name', (backend) => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let ws: BuiltWorkspace;
  let store: LocalDirBlobStore;
  let db: Db;
  let second: Db;
  let closeDb: () => Promise<void>;
  let first: Extract<LoadOutcome, { status: 'loaded' }>;
  let firstKey: string;

  beforeAll(async () => {
    tmp = await tempDir('aqe-loader-core-');
    ws = await buildWorkspace(join(tmp.dir, 'ws'), { volume: 'small', seed: SEED });
    store = new LocalDirBlobStore(join(tmp.dir, 'bucket'));
    ({ db, second, close: closeDb } = await backend.open());
    const push = await pushWorkspace(ws.root, 'laptop', store);
    firstKey = push.manifestKey!;
    first = loaded(await loadSnapshot({ store, db }, firstKey));
  });
  afterAll(async () => {
    await closeDb?.();
    await ws?.close();
    await tmp?.remove();
  });

  it(`migrates with the ${backend.dialect} vector dialect`, async () => {
    expect((await ensureMigrated(db)).dialect.dialect).toBe(backend.dialect);
  });

  it('lands every row of every source kind, per source and table, exactly once', async () => {
    const cloud = await cloudCounts(db, 'laptop');
    expect(cloud).toEqual(expectedCloudCounts(ws));
    // the run record agrees with the rows
    const total = await cloudRowTotal(db, 'laptop');
    expect(first.totals.read).toBe(total);
    expect(first.totals.inserted).toBe(total);
    expect(first.totals.duplicates).toBe(0);
    const run = (await db.query<{ status: string; rows_inserted: string | number; manifest_key: string }>('SELECT status, rows_inserted, manifest_key FROM aqe.sync_runs WHERE id = $1', [String(first.runId)])).rows[0];
    expect(run).toEqual({ status: 'succeeded', rows_inserted: expect.anything(), manifest_key: firstKey });
    expect(Number(run?.rows_inserted)).toBe(total);
    // inserted rows carry the run as first_run_id (rollback deletes by it): no undo entries needed
    expect(await count(db, 'SELECT count(*) AS n FROM aqe.undo_log WHERE run_id = $1', [String(first.runId)])).toBe(0);
  });

  it('strips NUL characters from text, keeping the rest of the value', async () => {
    // a raw NUL in a plain-string value, and an escaped one (\u0000) inside a JSON document's string
    const rows = sqliteRows<{ key: string; partition: string; value: string }>(ws, '.agentic-qe/memory.db', 'SELECT key, partition, value FROM memory_entries ORDER BY key').filter(
      (r) => r.value.includes('\u0000') || r.value.includes('\\u0000'),
    );
    expect(rows.some((r) => r.value.includes('\u0000'))).toBe(true);
    expect(rows.some((r) => r.value.includes('\\u0000'))).toBe(true);
    for (const r of rows) {
      const cleaned = r.value.replaceAll('\u0000', '').replaceAll('\\u0000', '');
      let expected: unknown;
      try {
        expected = JSON.parse(cleaned);
      } catch {
        expected = cleaned; // not JSON: kept as a JSON string
      }
      const res = await db.query<{ value: unknown }>(`SELECT value FROM aqe.memory_entries WHERE source_env = 'laptop' AND source_id = 'root-memory' AND source_key = $1`, [JSON.stringify([r.key, r.partition])]);
      expect(res.rows[0]?.value, r.key).toEqual(expected);
    }
  });

  it('keeps a plain string in a JSON-in-TEXT column as a JSON string', async () => {
    const raw = sqliteRows<{ id: number; state: string; next_state: string }>(ws, '.agentic-qe/memory.db', "SELECT id, state, next_state FROM learning_experiences WHERE state NOT LIKE '{%' ORDER BY id");
    expect(raw.length).toBeGreaterThan(0);
    for (const r of raw) {
      const res = await db.query<{ t: string; s: string; n: string }>(
        `SELECT jsonb_typeof(state) AS t, state #>> '{}' AS s, next_state #>> '{}' AS n FROM aqe.learning_experiences WHERE source_env = 'laptop' AND source_id = 'root-memory' AND source_key = $1`,
        [String(r.id)],
      );
      expect(res.rows[0]).toEqual({ t: 'string', s: r.state, n: r.next_state });
    }
    // a JSON document in the same column is decoded, not double-encoded
    expect(await count(db, `SELECT count(*) AS n FROM aqe.learning_experiences WHERE source_env = 'laptop' AND jsonb_typeof(state) = 'object'`)).toBeGreaterThan(0);
    // events.payload: same column holds JSON objects and a plain word
    expect(await count(db, `SELECT count(*) AS n FROM aqe.events WHERE source_env = 'laptop' AND payload = '"task-started"'::jsonb`)).toBe(1);
  });

  it('normalises mixed timestamp encodings of one column to the same instant type', async () => {
    // root goap_actions.created_at: Date.now() ms in one row, datetime('now') text in the next
    const raw = sqliteRows<{ id: string; created_at: number | string }>(ws, '.agentic-qe/memory.db', 'SELECT id, created_at FROM goap_actions ORDER BY rowid LIMIT 2');
    expect(raw.map((r) => typeof r.created_at)).toEqual(['number', 'string']);
    const expected = raw.map((r) => (typeof r.created_at === 'number' ? new Date(r.created_at) : new Date(`${r.created_at.replace(' ', 'T')}Z`)).toISOString());
    const res = await db.query<{ source_key: string; created_at: Date }>(`SELECT source_key, created_at FROM aqe.goap_actions WHERE source_env = 'laptop' AND source_id = 'root-memory' AND source_key = ANY($1::text[])`, [raw.map((r) => r.id)]);
    const got = new Map(res.rows.map((r) => [r.source_key, new Date(r.created_at).toISOString()]));
    expect(raw.map((r) => got.get(r.id))).toEqual(expected);
    expect(expected[0]).toMatch(/^2025-01-06T00:00:00\.\d{3}Z$/);
    expect(expected[1]).toBe('2025-01-06T00:01:00.000Z');
  });

  it('keeps an extended-year timestamp raw in extra instead of inventing a date', async () => {
    const raw = sqliteRows<{ id: string; last_used_at: string }>(ws, 'v3/.agentic-qe/memory.db', "SELECT id, last_used_at FROM qe_patterns WHERE last_used_at LIKE '+%'");
    expect(raw.length).toBeGreaterThan(0);
    for (const r of raw) {
      const res = await db.query<{ last_used_at: Date | null; raw: string }>(
        `SELECT last_used_at, extra -> '$raw' ->> 'last_used_at' AS raw FROM aqe.qe_patterns WHERE source_env = 'laptop' AND source_id = 'v3-memory' AND source_key = $1`,
        [r.id],
      );
      expect(res.rows[0]).toEqual({ last_used_at: null, raw: r.last_used_at });
    }
  });

  it('decodes float32 BLOB vectors into source_vectors with their dimension', async () => {
    const cases: Array<{ path: string; sql: string; key: (r: Record<string, unknown>) => string; dim: number }> = [
      { path: 'v3/.agentic-qe/memory.db', sql: 'SELECT key, namespace, vector AS blob FROM embeddings ORDER BY key LIMIT 2', key: (r) => `embeddings:${JSON.stringify([r['key'], r['namespace']])}`, dim: 384 },
      { path: 'v3/.agentic-qe/memory.db', sql: 'SELECT pattern_id, embedding AS blob FROM qe_pattern_embeddings ORDER BY pattern_id LIMIT 2', key: (r) => `qe_pattern_embeddings:${String(r['pattern_id'])}`, dim: 384 },
      { path: '.swarm/memory.db', sql: 'SELECT id, vector AS blob FROM pattern_embeddings ORDER BY id LIMIT 1', key: (r) => `pattern_embeddings:${String(r['id'])}`, dim: 1024 },
    ];
    for (const c of cases) {
      for (const r of sqliteRows<Record<string, unknown>>(ws, c.path, c.sql)) {
        const blob = r['blob'] as Buffer;
        const want = Array.from({ length: blob.length / 4 }, (_, i) => blob.readFloatLE(i * 4));
        const res = await db.query<{ dimension: string | number; vector: number[] }>('SELECT dimension, vector FROM aqe.source_vectors WHERE source_env = $1 AND source_key = $2', ['laptop', c.key(r)]);
        const row = res.rows[0];
        expect(row, c.key(r)).toBeDefined();
        expect(Number(row?.dimension)).toBe(c.dim);
        expect(row?.vector.length).toBe(c.dim);
        // real[] keeps float32 exactly
        expect(row?.vector.map((x) => Math.fround(Number(x)))).toEqual(want);
      }
    }
  });

  it('keeps every intelligence.json record whose id collides with another', async () => {
    const doc = JSON.parse(readFileSync(join(ws.root, 'v3/.ruvector/intelligence.json'), 'utf8')) as { memories: Array<{ id: string }>; trajectories: Array<{ id: string }> };
    for (const [list, table, prefix] of [
      [doc.memories, 'intelligence_memories', ''],
      [doc.trajectories, 'trajectories', 'trajectories:'],
    ] as const) {
      const occurrences = new Map<string, number>();
      for (const m of list) occurrences.set(m.id, (occurrences.get(m.id) ?? 0) + 1);
      const colliding = [...occurrences].filter(([, n]) => n > 1);
      expect(colliding.length, `${table}: the seed must produce colliding ids`).toBeGreaterThan(0);
      const res = await db.query<{ source_key: string }>(`SELECT source_key FROM aqe.${table} WHERE source_env = 'laptop' AND source_id = 'ruvector-intelligence'`);
      const stored = new Map<string, number>();
      for (const r of res.rows) {
        const id = r.source_key.slice(prefix.length).replace(/#[0-9a-f]{12}(#\d+)?$/, '');
        stored.set(id, (stored.get(id) ?? 0) + 1);
      }
      expect(stored).toEqual(occurrences);
    }
  });

  it('keys composite-key tables by every key column', async () => {
    const kv = sqliteRows<{ namespace: string; key: string }>(ws, 'v3/.agentic-qe/memory.db', 'SELECT namespace, key FROM kv_store');
    const res = await db.query<{ source_key: string; namespace: string; key: string }>(`SELECT source_key, namespace, key FROM aqe.kv_entries WHERE source_env = 'laptop' AND source_id = 'v3-memory'`);
    expect(res.rows.map((r) => r.source_key).sort()).toEqual(kv.map((r) => JSON.stringify([r.namespace, r.key])).sort());
    for (const r of res.rows) expect(JSON.parse(r.source_key)).toEqual([r.namespace, r.key]);
    const mem = sqliteRows<{ key: string; partition: string }>(ws, '.agentic-qe/memory.db', 'SELECT key, partition FROM memory_entries');
    const stored = await db.query<{ source_key: string }>(`SELECT source_key FROM aqe.memory_entries WHERE source_env = 'laptop' AND source_id = 'root-memory'`);
    expect(stored.rows.map((r) => r.source_key).sort()).toEqual(mem.map((r) => JSON.stringify([r.key, r.partition])).sort());
  });

  it('acknowledges the same manifest again as a duplicate, with no new run', async () => {
    const runs = await count(db, 'SELECT count(*) AS n FROM aqe.sync_runs');
    const again = await loadSnapshot({ store, db }, firstKey);
    expect(again).toMatchObject({ status: 'duplicate', runId: first.runId, previousStatus: 'succeeded' });
    expect(await count(db, 'SELECT count(*) AS n FROM aqe.sync_runs')).toBe(runs);
  });

  it('loads the same content in a new snapshot as all unchanged, writing no target row', async () => {
    const before = await rowVersions(db, 'laptop');
    const push = await pushWorkspace(ws.root, 'laptop', store);
    const out = loaded(await loadSnapshot({ store, db }, push.manifestKey!));
    expect(out.runId).not.toBe(first.runId);
    expect(out.totals).toMatchObject({ inserted: 0, updated: 0, keptNewer: 0, missing: 0, read: first.totals.read, unchanged: first.totals.read });
    expect(await count(db, 'SELECT count(*) AS n FROM aqe.undo_log WHERE run_id = $1', [String(out.runId)])).toBe(0);
    expect(await rowVersions(db, 'laptop')).toEqual(before);
  });

  it('never lets a late, older snapshot overwrite newer values (kept-newer counted)', async () => {
    // A: the current workspace; B: one row changed by time (swarm memory, newer updated_at) and
    // one changed at the same time (root memory, the later snapshot wins)
    const a = await pushWorkspace(ws.root, 'laptop', store);
    const swarm = sqliteRows<{ id: number; updated_at: number }>(ws, '.swarm/memory.db', 'SELECT id, updated_at FROM memory_entries ORDER BY id LIMIT 1')[0]!;
    const root = sqliteRows<{ key: string; partition: string }>(ws, '.agentic-qe/memory.db', "SELECT key, partition FROM memory_entries WHERE value LIKE '{%' ORDER BY key LIMIT 1")[0]!;
    sqliteExec(ws, '.swarm/memory.db', 'UPDATE memory_entries SET value = ?, updated_at = ? WHERE id = ?', JSON.stringify({ from: 'B' }), swarm.updated_at + 100, swarm.id);
    sqliteExec(ws, '.agentic-qe/memory.db', 'UPDATE memory_entries SET value = ? WHERE key = ? AND partition = ?', JSON.stringify({ from: 'B' }), root.key, root.partition);
    await new Promise((r) => setTimeout(r, 5)); // B's createdAt strictly after A's
    const b = await pushWorkspace(ws.root, 'laptop', store);
    expect(b.manifest.createdAt > a.manifest.createdAt).toBe(true);

    const outB = loaded(await loadSnapshot({ store, db }, b.manifestKey!));
    expect(outB.totals.updated).toBe(2);
    const outA = loaded(await loadSnapshot({ store, db }, a.manifestKey!));
    expect(outA.totals).toMatchObject({ inserted: 0, updated: 0, keptNewer: 2 });
    expect(outA.tables['swarm-memory/memory_entries']?.keptNewer).toBe(1);
    expect(outA.tables['root-memory/memory_entries']?.keptNewer).toBe(1);

    const value = async (sourceId: string, key: string) =>
      (await db.query<{ value: unknown }>(`SELECT value FROM aqe.memory_entries WHERE source_env = 'laptop' AND source_id = $1 AND source_key = $2`, [sourceId, key])).rows[0]?.value;
    expect(await value('swarm-memory', String(swarm.id))).toEqual({ from: 'B' });
    expect(await value('root-memory', JSON.stringify([root.key, root.partition]))).toEqual({ from: 'B' });
    const state = (await db.query<{ last_snapshot_id: string }>(`SELECT last_snapshot_id FROM aqe.sync_state WHERE env = 'laptop'`)).rows[0];
    expect(state?.last_snapshot_id).toBe(b.snapshotId);
  });

  it('keeps two environments with identical source ids and keys apart', async () => {
    const before = await rowVersions(db, 'laptop');
    const laptopCounts = await cloudCounts(db, 'laptop');
    const dev = await pushWorkspace(ws.root, 'devpod', store);
    const out = loaded(await loadSnapshot({ store, db }, dev.manifestKey!));
    expect(out.totals.inserted).toBe(out.totals.read);
    expect(await cloudCounts(db, 'devpod')).toEqual(laptopCounts);
    // the devpod changes a row the laptop also has: only the devpod's copy changes
    const swarm = sqliteRows<{ id: number; updated_at: number }>(ws, '.swarm/memory.db', 'SELECT id, updated_at FROM memory_entries ORDER BY id LIMIT 1')[0]!;
    sqliteExec(ws, '.swarm/memory.db', 'UPDATE memory_entries SET value = ?, updated_at = ? WHERE id = ?', JSON.stringify({ from: 'devpod' }), swarm.updated_at + 100, swarm.id);
    const dev2 = await pushWorkspace(ws.root, 'devpod', store);
    expect(loaded(await loadSnapshot({ store, db }, dev2.manifestKey!)).totals.updated).toBe(1);
    expect(await rowVersions(db, 'laptop')).toEqual(before);
    const values = await db.query<{ source_env: string; value: unknown }>(`SELECT source_env, value FROM aqe.memory_entries WHERE source_id = 'swarm-memory' AND source_key = $1 ORDER BY source_env`, [String(swarm.id)]);
    expect(values.rows).toEqual([
      { source_env: 'devpod', value: { from: 'devpod' } },
      { source_env: 'laptop', value: { from: 'B' } },
    ]);
  });

  it('serialises concurrent loaders of one environment; the same manifest loads once', async () => {
    const envName = 'race';
    const a = await pushWorkspace(ws.root, envName, store);
    sqliteExec(ws, '.agentic-qe/memory.db', "UPDATE memory_entries SET value = ? WHERE rowid = (SELECT min(rowid) FROM memory_entries WHERE value LIKE '{%')", JSON.stringify({ from: 'race' }));
    const b = await pushWorkspace(ws.root, envName, store);
    const runsBefore = await count(db, 'SELECT count(*) AS n FROM aqe.sync_runs');
    // different manifests, two loaders (two pools on a server)
    const [oa, ob] = await Promise.all([loadSnapshot({ store, db }, a.manifestKey!), loadSnapshot({ store, db: second }, b.manifestKey!)]);
    expect([oa.status, ob.status]).toEqual(['loaded', 'loaded']);
    expect(await cloudCounts(db, envName)).toEqual(await cloudCounts(db, 'laptop'));
    // the same manifest, delivered twice at once
    const c = await pushWorkspace(ws.root, envName, store);
    const outs = await Promise.all([loadSnapshot({ store, db }, c.manifestKey!), loadSnapshot({ store, db: second }, c.manifestKey!)]);
    expect(outs.map((o) => o.status).sort()).toEqual(['duplicate', 'loaded']);
    const runIds = outs.map((o) => ('runId' in o ? o.runId : -1));
    expect(runIds[0]).toBe(runIds[1]);
    expect(await count(db, 'SELECT count(*) AS n FROM aqe.sync_runs WHERE manifest_key = $1', [c.manifestKey])).toBe(1);
    expect(await count(db, 'SELECT count(*) AS n FROM aqe.sync_runs')).toBe(runsBefore + 3);
    expect(await count(db, `SELECT count(*) AS n FROM aqe.sync_runs WHERE status <> 'succeeded'`)).toBe(0);
  });
});
