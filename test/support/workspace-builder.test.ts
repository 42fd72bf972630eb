// Checks the test-support fixtures against the files they really write: the workspace builder's
// `expected` counts, its WAL hold, the redb file, and the concurrent SQLite writer.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../schema/sources/catalogue.js';
import { rowsForSize, writeLargeSqlite } from './large-sources.js';
import { startWriter } from './sqlite-writer.js';
import { type BuiltWorkspace, buildWorkspace, float32Blob, redbVectorCount, sqliteRowCount } from './workspace-builder.js';

const tmpDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aqe-ws-'));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

const pathOf = (id: string) => CATALOGUE.find((e) => e.id === id)?.paths[0] ?? '';

/** User tables of a SQLite file: no sqlite_* internals, FTS virtual tables or their shadow tables. */
function userTables(db: Database.Database): string[] {
  const all = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string; sql: string }>;
  const virtual = all.filter((t) => /^CREATE VIRTUAL TABLE/i.test(t.sql)).map((t) => t.name);
  return all
    .map((t) => t.name)
    .filter((n) => !n.startsWith('sqlite_') && !virtual.includes(n) && !virtual.some((v) => n.startsWith(`${v}_`)))
    .sort();
}

/** What an independent reader finds in the workspace, keyed like `BuiltWorkspace.expected` (redb excluded). */
function countWorkspace(root: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const id of ['v3-memory', 'root-memory', 'swarm-memory']) {
    const db = new Database(join(root, pathOf(id)), { readonly: true, fileMustExist: true });
    for (const t of userTables(db)) out[`${id}/${t}`] = (db.prepare(`SELECT COUNT(*) AS n FROM "${t}"`).get() as { n: number }).n;
    db.close();
  }
  const json = (id: string) => JSON.parse(readFileSync(join(root, pathOf(id)), 'utf8')) as Record<string, unknown>;
  out['claude-flow-store/entries'] = Object.keys(json('claude-flow-store')['entries'] as object).length;
  out['claude-flow-daemon/workers'] = Object.keys(json('claude-flow-daemon')['workers'] as object).length;
  const metricsDir = join(root, pathOf('claude-flow-metrics'));
  for (const f of readdirSync(metricsDir).filter((f) => f.endsWith('.json'))) {
    const content: unknown = JSON.parse(readFileSync(join(metricsDir, f), 'utf8'));
    out[`claude-flow-metrics/${basename(f, '.json')}`] = Array.isArray(content) ? content.length : 1;
  }
  const intel = json('ruvector-intelligence');
  for (const k of ['patterns', 'memories', 'trajectories', 'errors', 'file_sequences', 'agents', 'edges']) {
    const v = intel[k];
    out[`ruvector-intelligence/${k}`] = Array.isArray(v) ? v.length : Object.keys(v as object).length;
  }
  return out;
}

function withoutRedb(expected: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(expected).filter(([k]) => !k.startsWith('ruvector-patterns/')));
}

describe('buildWorkspace (small)', () => {
  let ws: BuiltWorkspace;
  let ms = 0;

  it('writes every catalogue source at its default path quickly', async () => {
    const t = performance.now();
    ws = await buildWorkspace(tempDir(), { volume: 'small', seed: 42 });
    ms = performance.now() - t;
    expect(ms).toBeLessThan(3000);
    for (const entry of CATALOGUE) expect(existsSync(join(ws.root, entry.paths[0] ?? '')), entry.id).toBe(true);
    for (const f of ws.files) expect(existsSync(join(ws.root, f)), f).toBe(true);
    expect(ws.files).toContain('v2/data/ruvector-patterns.db.meta.json');
    expect(ws.heldInWal).toEqual({});
    console.log(`small workspace built in ${Math.round(ms)} ms`);
  });

  it('reports exactly the tables and collections an independent reader finds, with their counts', () => {
    expect(countWorkspace(ws.root)).toEqual(withoutRedb(ws.expected));
    expect(ws.expected['v3-memory/dream_insights']).toBeGreaterThan(0);
    expect(ws.expected['v3-memory/qe_patterns_fts']).toBeUndefined();
    expect(ws.expected['v3-memory/sqlite_sequence']).toBeUndefined();
  });

  it('writes the redb file so another process can open it with @ruvector/core', async () => {
    expect(readFileSync(join(ws.root, pathOf('ruvector-patterns'))).subarray(0, 16).toString('latin1')).not.toContain('SQLite format 3');
    expect(await redbVectorCount(join(ws.root, pathOf('ruvector-patterns')))).toBe(ws.expected['ruvector-patterns/vectors']);
  });

  it('uses WAL for the v3 file, a rollback journal for the historical one, and leaves FTS shadow tables and sqlite_sequence', () => {
    const v3 = new Database(join(ws.root, pathOf('v3-memory')), { readonly: true });
    const root = new Database(join(ws.root, pathOf('root-memory')), { readonly: true });
    try {
      expect(v3.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(root.pragma('journal_mode', { simple: true })).toBe('delete');
      const names = (v3.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name);
      expect(names).toEqual(expect.arrayContaining(['qe_patterns_fts', 'qe_patterns_fts_data', 'qe_patterns_fts_config', 'sqlite_sequence']));
      const emb = v3.prepare('SELECT embedding, dimension, model FROM qe_pattern_embeddings LIMIT 1').get() as { embedding: Buffer; dimension: number; model: string };
      expect(emb.embedding.length).toBe(384 * 4);
      expect(emb.dimension).toBe(384);
      expect(emb.model).toBe('all-MiniLM-L6-v2');
      const gaCreated = root.prepare('SELECT DISTINCT typeof(created_at) AS t FROM goap_actions ORDER BY t').all() as Array<{ t: string }>;
      expect(gaCreated.map((r) => r.t)).toEqual(['integer', 'text']);
      const cols = (root.prepare('PRAGMA table_info(goap_actions)').all() as Array<{ name: string }>).map((c) => c.name);
      expect(cols).not.toContain('name');
      const extended = v3.prepare("SELECT COUNT(*) AS n FROM qe_patterns WHERE last_used_at LIKE '+0%'").get() as { n: number };
      expect(extended.n).toBeGreaterThan(0);
      const withNul = root.prepare("SELECT COUNT(*) AS n FROM memory_entries WHERE instr(value, char(0)) > 0").get() as { n: number };
      expect(withNul.n).toBeGreaterThan(0);
    } finally {
      v3.close();
      root.close();
    }
  });

  it('is deterministic for a seed and differs across seeds', async () => {
    const again = await buildWorkspace(tempDir(), { volume: 'small', seed: 42 });
    const other = await buildWorkspace(tempDir(), { volume: 'small', seed: 43 });
    const intel = (w: BuiltWorkspace) => readFileSync(join(w.root, pathOf('ruvector-intelligence')), 'utf8');
    const rows = (w: BuiltWorkspace) => {
      const db = new Database(join(w.root, pathOf('root-memory')), { readonly: true });
      const all = db.prepare('SELECT * FROM memory_entries ORDER BY key, partition').all();
      db.close();
      return all;
    };
    expect(again.expected).toEqual(ws.expected);
    expect(intel(again)).toBe(intel(ws));
    expect(rows(again)).toEqual(rows(ws));
    expect(intel(other)).not.toBe(intel(ws));
  });

  it('encodes float32 blobs little-endian and counts rows read-only', () => {
    const blob = float32Blob([1, -2.5]);
    expect(blob.length).toBe(8);
    expect(blob.readFloatLE(4)).toBe(-2.5);
    expect(sqliteRowCount(join(ws.root, pathOf('root-memory')), 'events')).toBe(ws.expected['root-memory/events']);
  });
});

describe('buildWorkspace (plan volume)', () => {
  it('matches the volumes of the plan and every count, in a few seconds', async () => {
    const t = performance.now();
    const ws = await buildWorkspace(tempDir(), { volume: 'plan', seed: 7 });
    const ms = performance.now() - t;
    console.log(`plan workspace built in ${Math.round(ms)} ms`);
    expect(ms).toBeLessThan(10_000);
    expect(ws.expected).toMatchObject({
      'v3-memory/qe_patterns': 1100,
      'root-memory/memory_entries': 2060,
      'root-memory/events': 1082,
      'root-memory/learning_experiences': 665,
    });
    expect(countWorkspace(ws.root)).toEqual(withoutRedb(ws.expected));
    expect(await redbVectorCount(join(ws.root, pathOf('ruvector-patterns')))).toBe(ws.expected['ruvector-patterns/vectors']);

    const intelText = readFileSync(join(ws.root, pathOf('ruvector-intelligence')), 'utf8');
    const lines = intelText.split('\n').length;
    expect(lines).toBeGreaterThan(52_000);
    expect(lines).toBeLessThan(62_000);
    expect(intelText.startsWith('{\n  "patterns": {')).toBe(true);
    const intel = JSON.parse(intelText) as { memories: Array<{ id: string; embedding: number[] | null }>; trajectories: Array<{ id: string }> };
    for (const list of [intel.memories, intel.trajectories]) {
      const dupShare = 1 - new Set(list.map((m) => m.id)).size / list.length;
      expect(dupShare).toBeGreaterThan(0.05);
      expect(dupShare).toBeLessThan(0.15);
    }
    expect(intel.memories.some((m) => m.embedding === null)).toBe(true);
    expect(intel.memories.filter((m) => m.embedding !== null).every((m) => m.embedding?.length === 64 || m.embedding?.length === 384)).toBe(true);

    const partitions = new Database(join(ws.root, pathOf('root-memory')), { readonly: true });
    const names = (partitions.prepare('SELECT DISTINCT partition FROM memory_entries ORDER BY 1').all() as Array<{ partition: string }>).map((r) => r.partition);
    const nul = partitions.prepare('SELECT COUNT(*) AS n FROM memory_entries WHERE instr(value, char(0)) > 0').get() as { n: number };
    const html = partitions.prepare("SELECT COUNT(*) AS n FROM memory_entries WHERE value LIKE '<div%'").get() as { n: number };
    partitions.close();
    expect(names).toEqual(['agents', 'aqe', 'aqe/test', 'coordination', 'default', 'events', 'goap', 'learning']);
    expect(nul.n).toBeGreaterThan(0);
    expect(html.n).toBeGreaterThan(0);

    const swarm = new Database(join(ws.root, pathOf('swarm-memory')), { readonly: true });
    const created = swarm.prepare('SELECT MIN(created_at) AS lo, MAX(created_at) AS hi FROM memory_entries').get() as { lo: number; hi: number };
    swarm.close();
    // Unix seconds, not milliseconds.
    expect(created.lo).toBeGreaterThan(1_700_000_000);
    expect(created.hi).toBeLessThan(2_000_000_000);
  });
});

describe('buildWorkspace (holdWal)', () => {
  it('keeps the last commits in the -wal: a reader that opens the db sees them, a copy of the main file alone does not', async () => {
    const ws = await buildWorkspace(tempDir(), { volume: 'small', seed: 5, holdWal: true });
    const dbPath = join(ws.root, pathOf('v3-memory'));
    try {
      expect(statSync(`${dbPath}-wal`).size).toBeGreaterThan(0);
      expect(Object.keys(ws.heldInWal).length).toBeGreaterThan(0);
      expect(countWorkspace(ws.root)).toEqual(withoutRedb(ws.expected));

      const copyDir = tempDir();
      copyFileSync(dbPath, join(copyDir, 'main-only.db'));
      const copy = new Database(join(copyDir, 'main-only.db'), { readonly: true });
      for (const [key, held] of Object.entries(ws.heldInWal)) {
        const table = key.split('/')[1] ?? '';
        const n = (copy.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
        expect(n, key).toBe((ws.expected[key] ?? 0) - held);
      }
      copy.close();
    } finally {
      await ws.close();
    }
    expect(existsSync(`${dbPath}-wal`)).toBe(false);
    expect(sqliteRowCount(dbPath, 'qe_patterns')).toBe(ws.expected['v3-memory/qe_patterns']);
    await ws.close();
  });
});

describe('startWriter', () => {
  const consistency = (path: string) => {
    const db = new Database(path, { readonly: true });
    const r = db.prepare('SELECT COUNT(*) AS n, MAX(id) AS m FROM writer_rows').get() as { n: number; m: number };
    const ok = db.pragma('integrity_check', { simple: true });
    db.close();
    return { ...r, ok };
  };

  for (const journal of ['wal', 'delete'] as const) {
    it(`commits hundreds of rows per second from another process (${journal})`, async () => {
      const dir = tempDir();
      const dbPath = join(dir, 'busy.db');
      const writer = await startWriter({ dbPath, journal });
      expect(writer.pid).not.toBe(process.pid);
      expect(sqliteRowCount(dbPath, 'writer_rows')).toBeGreaterThan(0);
      const t = performance.now();
      await new Promise((r) => setTimeout(r, 700));
      // A one-step copy while it writes is consistent.
      const src = new Database(dbPath, { readonly: true });
      src.exec(`VACUUM INTO '${join(dir, 'snap.db')}'`);
      src.close();
      const { committed, lastId } = await writer.stop();
      const rate = committed / ((performance.now() - t) / 1000);
      console.log(`writer (${journal}): ${committed} commits, ~${Math.round(rate)}/s`);
      expect(rate).toBeGreaterThan(200);
      expect(lastId).toBe(committed);
      const final = consistency(dbPath);
      expect(final).toEqual({ n: committed, m: committed, ok: 'ok' });
      const snap = consistency(join(dir, 'snap.db'));
      expect(snap.ok).toBe('ok');
      expect(snap.n).toBe(snap.m);
      expect(snap.n).toBeGreaterThan(0);
      expect(snap.n).toBeLessThan(committed);
    });
  }

  it('honours a commit rate and can be killed', async () => {
    const dbPath = join(tempDir(), 'slow.db');
    const writer = await startWriter({ dbPath, commitsPerSecond: 50 });
    await new Promise((r) => setTimeout(r, 500));
    await writer.kill();
    const n = sqliteRowCount(dbPath, 'writer_rows');
    expect(n).toBeGreaterThan(5);
    expect(n).toBeLessThan(60);
    // Restarting continues the id sequence.
    const again = await startWriter({ dbPath, commitsPerSecond: 100 });
    const { lastId, committed } = await again.stop();
    expect(lastId).toBe(n + committed);
  });
});

describe('writeLargeSqlite', () => {
  it('writes the requested rows quickly, narrow by default', async () => {
    const path = join(tempDir(), 'large.db');
    const t = performance.now();
    const r = await writeLargeSqlite(path, { rows: 200_000 });
    expect(performance.now() - t).toBeLessThan(5000);
    expect(sqliteRowCount(path, 'large_rows')).toBe(200_000);
    expect(r.bytes).toBeGreaterThan(200_000 * 16);
    const sized = await writeLargeSqlite(join(tempDir(), 'sized.db'), { rows: rowsForSize(10 * 1024 ** 2, 200), payloadBytes: 200, table: 'blobs', journal: 'delete' });
    expect(sized.bytes).toBeGreaterThan(9 * 1024 ** 2);
    expect(sized.bytes).toBeLessThan(13 * 1024 ** 2);
  });
});
