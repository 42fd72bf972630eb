// Also the generator behind `aqe-upload demo` (shipped code), and the tests' workspace builder
// (test/support/workspace-builder.ts re-exports it).
// Test support: writes a realistic workspace holding every local source of SOURCES.md at the
// catalogue's default paths (real SQLite files in WAL and rollback-journal mode, the JSON layouts,
// a real @ruvector/core redb file), deterministic for a seed, and reports the row counts a reader
// must find.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { catalogueEntry } from '../../schema/sources/catalogue.js';

/** Options of {@link buildWorkspace}. */
export interface BuildWorkspaceOptions {
  /** `small`: a few rows per table (< 1 s). `plan`: the volumes of the user's plan (~1,100 qe_patterns, 2,060 memory_entries, …). */
  volume?: 'small' | 'plan';
  /** Seed of the pseudo-random generator: same seed, same content. Default 1. */
  seed?: number;
  /** Keep the last commits of `v3/.agentic-qe/memory.db` in its `-wal` file (a connection stays open until `close()`). */
  holdWal?: boolean;
}

/** What {@link buildWorkspace} wrote. */
export interface BuiltWorkspace {
  /** The workspace root (absolute). */
  root: string;
  /** Every file written, relative to `root` (posix separators, sorted). `-wal` / `-shm` files are not listed. */
  files: string[];
  /**
   * `"<sourceId>/<table or collection>"` → the row count a reader must find.
   * SQLite: every table except `sqlite_sequence`, FTS virtual tables and their shadow tables (empty tables included).
   * intelligence.json: `patterns`, `memories`, `trajectories`, `errors`, `file_sequences`, `agents`, `edges`.
   * store.json: `entries`; daemon-state.json: `workers`; metrics: one key per file, by base name without
   * `.json` (array file → its length, object file → 1); redb: `vectors`.
   */
  expected: Record<string, number>;
  /** With `holdWal`: `"v3-memory/<table>"` → how many of that table's rows live only in the `-wal` file. Empty otherwise. */
  heldInWal: Record<string, number>;
  /** Releases the connection kept open by `holdWal` (SQLite then checkpoints and removes the `-wal`). No-op otherwise. */
  close(): Promise<void>;
}

type Volume = 'small' | 'plan';
type Row = Record<string, unknown>;

const SIZES = {
  small: {
    qePatterns: 6, usage: 8, qeTrajectories: 3, sona: 4, rlQ: 6, goals: 2, goapActions: 4, goapPlans: 3, steps: 5,
    kv: 8, vectors: 3, embeddings: 4, captured: 3, dream: 2,
    memoryEntries: 16, events: 6, rootPatterns: 5, learning: 5, rootGoapActions: 4, rootGoapPlans: 2, qValues: 5, perf: 4,
    swarmMemory: 6, swarmPatterns: 3, trajectoriesTask: 2,
    storeEntries: 6, workers: 3, samples: 3,
    intelPatterns: 5, memories: 6, trajectories: 8, errors: 2, fileSeq: 3, agents: 2, edges: 3,
    redb: 5,
  },
  plan: {
    qePatterns: 1100, usage: 1800, qeTrajectories: 150, sona: 68, rlQ: 420, goals: 20, goapActions: 60, goapPlans: 40,
    steps: 160, kv: 320, vectors: 90, embeddings: 240, captured: 180, dream: 35,
    memoryEntries: 2060, events: 1082, rootPatterns: 310, learning: 665, rootGoapActions: 45, rootGoapPlans: 28,
    qValues: 520, perf: 400,
    swarmMemory: 82, swarmPatterns: 40, trajectoriesTask: 30,
    storeEntries: 320, workers: 10, samples: 480,
    intelPatterns: 420, memories: 622, trajectories: 1000, errors: 24, fileSeq: 60, agents: 12, edges: 80,
    redb: 220,
  },
} as const satisfies Record<Volume, Record<string, number>>;

type Sizes = (typeof SIZES)[Volume];

/** A fixed epoch for generated timestamps (2025-01-06T00:00:00Z): no `Date.now()`, so output depends on the seed only. */
const BASE_S = 1_736_121_600;
const SPAN_S = 90 * 86_400;

/**
 * Writes every source at its default path under `root` and returns what a reader must find.
 *
 * @example
 * const ws = await buildWorkspace(tmp, { volume: 'small', seed: 7, holdWal: true });
 * try { expect(await countRows(ws.root)).toEqual(ws.expected); } finally { await ws.close(); }
 */
export async function buildWorkspace(root: string, options: BuildWorkspaceOptions = {}): Promise<BuiltWorkspace> {
  const volume = options.volume ?? 'small';
  const seed = options.seed ?? 1;
  const sizes = SIZES[volume];
  const expected: Record<string, number> = {};
  const files: string[] = [];
  const track = (source: string, counts: Record<string, number>) => {
    for (const [k, v] of Object.entries(counts)) expected[`${source}/${k}`] = v;
  };

  const v3 = buildV3Memory(root, new Rng(seed * 101 + 1), sizes, options.holdWal === true);
  files.push(sourcePath('v3-memory'));
  track('v3-memory', v3.counts);

  track('root-memory', buildRootMemory(join(root, sourcePath('root-memory')), new Rng(seed * 101 + 2), sizes));
  files.push(sourcePath('root-memory'));

  track('swarm-memory', buildSwarmMemory(join(root, sourcePath('swarm-memory')), new Rng(seed * 101 + 3), sizes));
  files.push(sourcePath('swarm-memory'));

  const jsonFiles = buildJsonSources(new Rng(seed * 101 + 4), sizes, volume);
  for (const f of jsonFiles) {
    await writeFileEnsuringDir(join(root, f.path), f.text);
    files.push(f.path);
    track(f.source, f.counts);
  }

  const redb = await buildRuvectorPatterns(root, new Rng(seed * 101 + 5), sizes.redb);
  files.push(...redb.files);
  track('ruvector-patterns', { vectors: redb.count });

  const heldInWal: Record<string, number> = {};
  if (v3.held) for (const [k, v] of Object.entries(v3.tail)) heldInWal[`v3-memory/${k}`] = v;

  let open = v3.held;
  return {
    root,
    files: files.sort(),
    expected,
    heldInWal,
    close: async () => {
      if (open) {
        open.close();
        open = undefined;
      }
    },
  };
}

/** `SELECT COUNT(*)` of one table, opening the file read-only (works on WAL files while a writer holds them). */
export function sqliteRowCount(dbPath: string, table: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare(`SELECT COUNT(*) AS n FROM "${table.replaceAll('"', '""')}"`).get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

/** A vector as the tools store it: Float32 little-endian, 4 bytes per value. */
export function float32Blob(vec: readonly number[]): Buffer {
  const buf = Buffer.alloc(vec.length * 4);
  for (let i = 0; i < vec.length; i++) buf.writeFloatLE(vec[i] ?? 0, i * 4);
  return buf;
}

/** The catalogue's first default path of a source. */
function sourcePath(id: string): string {
  const entry = catalogueEntry(id);
  const path = entry?.paths[0];
  if (!path) throw new Error(`catalogue has no default path for source "${id}"`);
  return path;
}

async function writeFileEnsuringDir(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

// ---------------------------------------------------------------------------------------------
// Deterministic generation

/** mulberry32: tiny, fast, good enough for fixtures. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  round(v: number, digits = 4): number {
    const f = 10 ** digits;
    return Math.round(v * f) / f;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(this.next() * 16).toString(16);
    return s;
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
  /** A unit vector (what a hash embedding looks like). */
  unitVector(dims: number): number[] {
    const v: number[] = [];
    let norm = 0;
    for (let i = 0; i < dims; i++) {
      const x = this.next() * 2 - 1;
      v.push(x);
      norm += x * x;
    }
    norm = Math.sqrt(norm) || 1;
    return v.map((x) => x / norm);
  }
  /** A Unix time in seconds inside the fixture window. */
  seconds(): number {
    return BASE_S + Math.floor(this.next() * SPAN_S);
  }
}

// The five timestamp encodings of SOURCES.md, from Unix seconds (+ optional ms part).
const enc = {
  ms: (s: number, rng: Rng) => s * 1000 + rng.int(0, 999),
  msWholeSecond: (s: number) => s * 1000,
  seconds: (s: number) => s,
  sqliteText: (s: number) => new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' '),
  iso: (s: number, rng: Rng) => new Date(s * 1000 + rng.int(0, 999)).toISOString(),
  /** The buggy migration: milliseconds read as seconds gives years like +056984. */
  isoExtendedYear: (s: number) => new Date(s * 1000 * 1000).toISOString(),
};

const QE_DOMAINS = [
  'test-generation', 'test-execution', 'coverage-analysis', 'quality-assessment', 'defect-intelligence',
  'requirements-validation', 'code-intelligence', 'security-compliance', 'contract-testing',
  'visual-accessibility', 'chaos-resilience', 'learning-optimization',
] as const;
const PATTERN_TYPES = ['test-template', 'assertion-pattern', 'mock-pattern', 'coverage-strategy', 'flaky-fix', 'refactor-safe'] as const;
const AGENTS = ['qe-test-generator', 'qe-coverage-analyzer', 'qe-flaky-hunter', 'qe-security-scanner', 'qe-quality-gate', 'qe-api-contract-validator', 'coder', 'reviewer', 'tester'] as const;
const WORDS = ['jest', 'vitest', 'mock', 'async', 'boundary', 'null', 'retry', 'timeout', 'snapshot', 'fixture', 'contract', 'coverage', 'branch', 'mutation', 'flaky', 'race', 'api', 'auth', 'cache', 'parser'] as const;
const FILES = ['src/index.ts', 'src/auth/login.ts', 'src/api/routes.ts', 'src/db/pool.ts', 'tests/auth.test.ts', 'src/utils/retry.ts', 'README.md', 'package.json'] as const;

function sentence(rng: Rng, n = 6): string {
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(rng.pick(WORDS));
  return w.join(' ');
}

// ---------------------------------------------------------------------------------------------
// SQLite helpers

/** Inserts rows through one prepared statement (columns = the union of the rows' keys) and returns the count. */
function insertAll(db: Database.Database, table: string, rows: readonly Row[]): number {
  if (rows.length === 0) return 0;
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const stmt = db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
  for (const r of rows) stmt.run(cols.map((c) => r[c] ?? null));
  return rows.length;
}

function openFresh(path: string, journal: 'wal' | 'delete'): Database.Database {
  const db = new Database(path);
  db.pragma(journal === 'wal' ? 'journal_mode = WAL' : 'journal_mode = DELETE');
  return db;
}

// ---------------------------------------------------------------------------------------------
// v3/.agentic-qe/memory.db (WAL)

const V3_SCHEMA = `
CREATE TABLE schema_version (id INTEGER PRIMARY KEY, version INTEGER NOT NULL, migrated_at TEXT DEFAULT (datetime('now')));
CREATE TABLE qe_patterns (
  id TEXT PRIMARY KEY, pattern_type TEXT NOT NULL, qe_domain TEXT NOT NULL, domain TEXT NOT NULL, name TEXT NOT NULL,
  description TEXT, confidence REAL DEFAULT 0.5, usage_count INTEGER DEFAULT 0, success_rate REAL DEFAULT 0.0,
  quality_score REAL DEFAULT 0.0, tier TEXT DEFAULT 'short-term', template_json TEXT, context_json TEXT,
  created_at TEXT DEFAULT (datetime('now')), updated_at TEXT DEFAULT (datetime('now')), last_used_at TEXT,
  successful_uses INTEGER DEFAULT 0, tokens_used INTEGER, input_tokens INTEGER, output_tokens INTEGER, latency_ms REAL,
  reusable INTEGER DEFAULT 0, reuse_count INTEGER DEFAULT 0, average_token_savings REAL DEFAULT 0, total_tokens_saved INTEGER
);
CREATE VIRTUAL TABLE qe_patterns_fts USING fts5(id UNINDEXED, name, description, tags);
CREATE TABLE qe_pattern_embeddings (
  pattern_id TEXT PRIMARY KEY, embedding BLOB NOT NULL, dimension INTEGER NOT NULL, model TEXT DEFAULT 'all-MiniLM-L6-v2',
  created_at TEXT DEFAULT (datetime('now')), FOREIGN KEY (pattern_id) REFERENCES qe_patterns(id) ON DELETE CASCADE
);
CREATE TABLE qe_pattern_usage (
  id INTEGER PRIMARY KEY AUTOINCREMENT, pattern_id TEXT NOT NULL, success INTEGER NOT NULL, metrics_json TEXT,
  feedback TEXT, created_at TEXT DEFAULT (datetime('now'))
);
CREATE TABLE qe_trajectories (
  id TEXT PRIMARY KEY, task TEXT NOT NULL, agent TEXT, domain TEXT, started_at TEXT DEFAULT (datetime('now')),
  ended_at TEXT, success INTEGER, steps_json TEXT, metadata_json TEXT
);
CREATE TABLE sona_patterns (
  id TEXT PRIMARY KEY, type TEXT NOT NULL, domain TEXT, state_embedding BLOB, action_embedding BLOB, action_type TEXT,
  action_value TEXT, outcome_reward REAL, outcome_success INTEGER, outcome_quality REAL, confidence REAL DEFAULT 0.5,
  usage_count INTEGER DEFAULT 0, success_count INTEGER DEFAULT 0, failure_count INTEGER DEFAULT 0, metadata TEXT,
  created_at TEXT, updated_at TEXT DEFAULT (datetime('now')), last_used_at TEXT
);
CREATE TABLE rl_q_values (
  id TEXT PRIMARY KEY, algorithm TEXT NOT NULL, agent_id TEXT NOT NULL, state_key TEXT NOT NULL, action_key TEXT NOT NULL,
  q_value REAL NOT NULL DEFAULT 0.0, visits INTEGER NOT NULL DEFAULT 0, last_reward REAL, domain TEXT,
  created_at TEXT DEFAULT (datetime('now')), updated_at TEXT DEFAULT (datetime('now')),
  UNIQUE(algorithm, agent_id, state_key, action_key)
);
CREATE TABLE goap_goals (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, conditions TEXT NOT NULL, priority INTEGER DEFAULT 3,
  qe_domain TEXT, created_at TEXT DEFAULT (datetime('now')), updated_at TEXT DEFAULT (datetime('now'))
);
CREATE TABLE goap_actions (
  id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, agent_type TEXT NOT NULL, preconditions TEXT NOT NULL,
  effects TEXT NOT NULL, cost REAL DEFAULT 1.0, estimated_duration_ms INTEGER, success_rate REAL DEFAULT 1.0,
  execution_count INTEGER DEFAULT 0, category TEXT, qe_domain TEXT, created_at TEXT DEFAULT (datetime('now')),
  updated_at TEXT DEFAULT (datetime('now'))
);
ALTER TABLE goap_actions ADD COLUMN method TEXT;
ALTER TABLE goap_actions ADD COLUMN params TEXT;
ALTER TABLE goap_actions ADD COLUMN implemented INTEGER DEFAULT 0;
CREATE TABLE goap_plans (
  id TEXT PRIMARY KEY, goal_id TEXT, initial_state TEXT NOT NULL, goal_state TEXT NOT NULL, action_sequence TEXT NOT NULL,
  total_cost REAL, estimated_duration_ms INTEGER, status TEXT DEFAULT 'pending', reused_from TEXT, similarity_score REAL,
  created_at TEXT DEFAULT (datetime('now')), executed_at TEXT, completed_at TEXT
);
CREATE TABLE goap_execution_steps (
  id TEXT PRIMARY KEY, plan_id TEXT NOT NULL, action_id TEXT NOT NULL, step_order INTEGER NOT NULL,
  world_state_before TEXT, world_state_after TEXT, status TEXT DEFAULT 'pending', started_at TEXT, completed_at TEXT,
  error_message TEXT, agent_id TEXT
);
CREATE TABLE kv_store (
  namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER, created_at INTEGER NOT NULL,
  PRIMARY KEY (namespace, key)
);
CREATE TABLE vectors (
  id TEXT PRIMARY KEY, namespace TEXT NOT NULL DEFAULT 'default', embedding BLOB NOT NULL, dimensions INTEGER NOT NULL,
  metadata TEXT, created_at INTEGER NOT NULL, updated_at INTEGER
);
CREATE TABLE embeddings (
  key TEXT NOT NULL, namespace TEXT NOT NULL, vector BLOB NOT NULL, dimension INTEGER NOT NULL, text TEXT,
  timestamp INTEGER NOT NULL, quantization TEXT, PRIMARY KEY (key, namespace)
);
CREATE TABLE captured_experiences (
  id TEXT PRIMARY KEY, task TEXT NOT NULL, agent TEXT, domain TEXT, success INTEGER NOT NULL, quality REAL,
  duration_ms INTEGER, model_tier INTEGER, routing_json TEXT, steps_json TEXT, result_json TEXT, error TEXT,
  started_at TEXT, completed_at TEXT, source TEXT, embedding BLOB, embedding_dimension INTEGER, tags TEXT,
  consolidated_into TEXT, consolidation_count INTEGER DEFAULT 0
);
CREATE TABLE dream_insights (
  id TEXT PRIMARY KEY, cycle_id TEXT NOT NULL, insight_type TEXT NOT NULL, source_concepts TEXT, description TEXT,
  novelty_score REAL, confidence_score REAL, actionable INTEGER DEFAULT 0, created_at TEXT DEFAULT (datetime('now'))
);
`;

interface V3Result {
  counts: Record<string, number>;
  tail: Record<string, number>;
  held: Database.Database | undefined;
}

function buildV3Memory(root: string, rng: Rng, n: Sizes, holdWal: boolean): V3Result {
  const path = join(root, sourcePath('v3-memory'));
  mkdirSyncP(dirname(path));
  const db = openFresh(path, 'wal');
  db.pragma('wal_autocheckpoint = 0');
  db.exec(V3_SCHEMA);

  const tables: Record<string, Row[]> = {};
  tables['schema_version'] = [1, 2, 3, 4, 5, 6, 7, 8].map((v) => ({
    id: v,
    version: v,
    migrated_at: enc.sqliteText(BASE_S - (9 - v) * 86_400),
  }));

  const patterns: Row[] = [];
  const ftsRows: Row[] = [];
  const embeddings: Row[] = [];
  for (let i = 0; i < n.qePatterns; i++) {
    const s = rng.seconds();
    const qeDomain = rng.pick(QE_DOMAINS);
    const id = rng.chance(0.7) ? rng.uuid() : `pattern-${s * 1000 + rng.int(0, 999)}-${rng.hex(6)}`;
    const name = `${rng.pick(PATTERN_TYPES)}: ${sentence(rng, 3)}`;
    const description = sentence(rng, 10);
    // last_used_at: mostly ISO, some NULL, a few extended-year ISO from the buggy migration.
    let lastUsed: string | null = enc.iso(s + rng.int(0, 86_400), rng);
    if (i === 1) lastUsed = '+051234-01-01T00:00:00.000Z';
    else if (i === 2 || rng.chance(0.02)) lastUsed = enc.isoExtendedYear(s);
    else if (rng.chance(0.2)) lastUsed = null;
    patterns.push({
      id,
      pattern_type: rng.pick(PATTERN_TYPES),
      qe_domain: qeDomain,
      domain: qeDomain.split('-')[0],
      name,
      description,
      confidence: rng.round(rng.next()),
      usage_count: rng.int(0, 50),
      success_rate: rng.round(rng.next()),
      quality_score: rng.round(rng.next()),
      tier: rng.pick(['short-term', 'working', 'long-term']),
      template_json: JSON.stringify({ type: 'code', content: `it('${sentence(rng, 3)}', () => {})`, variables: [] }),
      context_json: JSON.stringify({ tags: [rng.pick(WORDS), rng.pick(WORDS)], language: 'typescript', framework: rng.pick(['jest', 'vitest']) }),
      // created_at mixes SQLite text (datetime('now')) and ISO (rows synced in from v2).
      created_at: rng.chance(0.85) ? enc.sqliteText(s) : enc.iso(s, rng),
      updated_at: enc.sqliteText(s + rng.int(0, 3600)),
      last_used_at: lastUsed,
      successful_uses: rng.int(0, 20),
      tokens_used: rng.chance(0.5) ? rng.int(100, 5000) : null,
      input_tokens: rng.chance(0.5) ? rng.int(50, 3000) : null,
      output_tokens: rng.chance(0.5) ? rng.int(50, 2000) : null,
      latency_ms: rng.chance(0.5) ? rng.round(rng.next() * 900, 2) : null,
      reusable: rng.chance(0.3) ? 1 : 0,
      reuse_count: rng.int(0, 5),
      average_token_savings: rng.round(rng.next() * 100, 2),
      total_tokens_saved: rng.chance(0.4) ? rng.int(0, 9000) : null,
    });
    ftsRows.push({ id, name, description, tags: 'qe' });
    if (rng.chance(0.9)) {
      embeddings.push({
        pattern_id: id,
        embedding: float32Blob(rng.unitVector(384)),
        dimension: 384,
        model: 'all-MiniLM-L6-v2',
        created_at: enc.sqliteText(s),
      });
    }
  }
  tables['qe_patterns'] = patterns;
  tables['qe_pattern_embeddings'] = embeddings;

  tables['qe_pattern_usage'] = Array.from({ length: n.usage }, () => {
    const p = rng.pick(patterns);
    return {
      pattern_id: p['id'],
      success: rng.chance(0.7) ? 1 : 0,
      metrics_json: rng.chance(0.8) ? JSON.stringify({ durationMs: rng.int(5, 9000), tokens: rng.int(0, 3000) }) : null,
      feedback: rng.chance(0.3) ? sentence(rng, 5) : null,
      created_at: enc.sqliteText(rng.seconds()),
    };
  });

  tables['qe_trajectories'] = Array.from({ length: n.qeTrajectories }, () => {
    const s = rng.seconds();
    return {
      id: `traj-${s * 1000 + rng.int(0, 999)}-${rng.hex(8)}`,
      task: sentence(rng, 6),
      agent: rng.pick(AGENTS),
      domain: rng.pick(QE_DOMAINS),
      started_at: enc.iso(s, rng),
      ended_at: rng.chance(0.8) ? enc.iso(s + rng.int(1, 600), rng) : null,
      success: rng.chance(0.7) ? 1 : 0,
      steps_json: JSON.stringify(Array.from({ length: rng.int(1, 4) }, (_, k) => ({ step: k, action: rng.pick(WORDS), reward: rng.round(rng.next()) }))),
      metadata_json: JSON.stringify({ source: 'hooks' }),
    };
  });

  tables['sona_patterns'] = Array.from({ length: n.sona }, () => {
    const s = rng.seconds();
    return {
      id: rng.uuid(),
      type: rng.pick(['routing', 'test-generation', 'coverage', 'defect-prediction']),
      domain: rng.pick(QE_DOMAINS),
      state_embedding: float32Blob(rng.unitVector(384)),
      action_embedding: rng.chance(0.8) ? float32Blob(rng.unitVector(384)) : null,
      action_type: rng.pick(['route', 'generate', 'analyze']),
      action_value: rng.pick(AGENTS),
      outcome_reward: rng.round(rng.next() * 2 - 1),
      outcome_success: rng.chance(0.7) ? 1 : 0,
      outcome_quality: rng.round(rng.next()),
      confidence: rng.round(rng.next()),
      usage_count: rng.int(0, 30),
      success_count: rng.int(0, 20),
      failure_count: rng.int(0, 10),
      metadata: JSON.stringify({ trajectoryId: rng.hex(12) }),
      created_at: enc.iso(s, rng),
      updated_at: enc.sqliteText(s + rng.int(0, 7200)),
      last_used_at: rng.chance(0.6) ? enc.iso(s + rng.int(0, 86_400), rng) : null,
    };
  });

  tables['rl_q_values'] = Array.from({ length: n.rlQ }, (_, i) => {
    const s = rng.seconds();
    return {
      id: rng.uuid(),
      algorithm: rng.pick(['q-learning', 'sarsa', 'actor-critic']),
      agent_id: rng.pick(AGENTS),
      state_key: `state:${i}:${rng.pick(QE_DOMAINS)}`,
      action_key: `action:${rng.pick(WORDS)}`,
      q_value: rng.round(rng.next() * 2 - 1, 6),
      visits: rng.int(1, 200),
      last_reward: rng.round(rng.next() * 2 - 1),
      domain: rng.pick(QE_DOMAINS),
      created_at: enc.sqliteText(s),
      updated_at: enc.sqliteText(s + rng.int(0, 86_400)),
    };
  });

  const goals = Array.from({ length: n.goals }, (_, i) => ({
    id: `goal-${i + 1}-${rng.hex(6)}`,
    name: `achieve ${sentence(rng, 2)}`,
    description: sentence(rng, 8),
    conditions: JSON.stringify({ coverage: { gte: rng.int(60, 95) }, tests_passing: true }),
    priority: rng.int(1, 5),
    qe_domain: rng.pick(QE_DOMAINS),
    created_at: enc.sqliteText(rng.seconds()),
    updated_at: enc.sqliteText(rng.seconds()),
  }));
  tables['goap_goals'] = goals;
  const actions = Array.from({ length: n.goapActions }, () => {
    const s = rng.seconds();
    return {
      id: `action-${s * 1000 + rng.int(0, 999)}-${rng.hex(8)}`,
      name: `${rng.pick(['run', 'generate', 'analyze', 'fix'])}-${rng.pick(WORDS)}`,
      description: sentence(rng, 6),
      agent_type: rng.pick(AGENTS),
      preconditions: JSON.stringify({ [rng.pick(WORDS)]: true }),
      effects: JSON.stringify({ [rng.pick(WORDS)]: true }),
      cost: rng.round(rng.next() * 10, 2),
      estimated_duration_ms: rng.int(100, 60_000),
      success_rate: rng.round(rng.next()),
      execution_count: rng.int(0, 100),
      category: rng.pick(['test', 'analysis', 'security', 'fix']),
      qe_domain: rng.pick(QE_DOMAINS),
      created_at: enc.sqliteText(s),
      updated_at: enc.sqliteText(s),
      method: rng.chance(0.5) ? rng.pick(['runTests', 'analyzeCoverage', 'scan']) : null,
      params: rng.chance(0.5) ? JSON.stringify({ depth: rng.int(1, 3) }) : null,
      implemented: rng.chance(0.5) ? 1 : 0,
    };
  });
  tables['goap_actions'] = actions;
  const plans = Array.from({ length: n.goapPlans }, () => {
    const s = rng.seconds();
    const status = rng.pick(['pending', 'executing', 'completed', 'failed']);
    return {
      id: `plan-${s * 1000 + rng.int(0, 999)}-${rng.hex(6)}`,
      goal_id: rng.pick(goals)['id'],
      initial_state: JSON.stringify({ coverage: rng.int(10, 60) }),
      goal_state: JSON.stringify({ coverage: rng.int(70, 95) }),
      action_sequence: JSON.stringify([rng.pick(actions)['id'], rng.pick(actions)['id']]),
      total_cost: rng.round(rng.next() * 20, 2),
      estimated_duration_ms: rng.int(1000, 600_000),
      status,
      reused_from: null,
      similarity_score: rng.chance(0.3) ? rng.round(rng.next()) : null,
      created_at: enc.sqliteText(s),
      executed_at: status === 'pending' ? null : enc.iso(s + 60, rng),
      completed_at: status === 'completed' ? enc.iso(s + 600, rng) : null,
    };
  });
  tables['goap_plans'] = plans;
  tables['goap_execution_steps'] = Array.from({ length: n.steps }, (_, i) => {
    const s = rng.seconds();
    return {
      id: `step-${i + 1}-${rng.hex(6)}`,
      plan_id: rng.pick(plans)['id'],
      action_id: rng.pick(actions)['id'],
      step_order: i % 5,
      world_state_before: JSON.stringify({ coverage: rng.int(0, 100) }),
      world_state_after: rng.chance(0.8) ? JSON.stringify({ coverage: rng.int(0, 100) }) : null,
      status: rng.pick(['completed', 'failed', 'pending']),
      started_at: enc.iso(s, rng),
      completed_at: rng.chance(0.8) ? enc.iso(s + 30, rng) : null,
      error_message: rng.chance(0.1) ? 'Error: timeout after 30000ms' : null,
      agent_id: rng.pick(AGENTS),
    };
  });

  tables['kv_store'] = Array.from({ length: n.kv }, (_, i) => {
    const s = rng.seconds();
    const value = rng.chance(0.8) ? JSON.stringify({ i, note: sentence(rng, 4), score: rng.round(rng.next()) }) : JSON.stringify(sentence(rng, 3));
    return {
      namespace: rng.pick(['default', 'learning', 'routing', 'coverage', 'patterns']),
      key: `key-${i}-${rng.hex(6)}`,
      value,
      expires_at: rng.chance(0.3) ? (s + 86_400) * 1000 : null,
      // ms from Date.now() and second-granularity ms from strftime('%s','now')*1000 in one column.
      created_at: rng.chance(0.7) ? enc.ms(s, rng) : enc.msWholeSecond(s),
    };
  });
  tables['vectors'] = Array.from({ length: n.vectors }, (_, i) => {
    const dims = i % 7 === 3 ? 128 : 384;
    const s = rng.seconds();
    return {
      id: `vec-${i + 1}-${rng.hex(6)}`,
      namespace: rng.pick(['default', 'patterns', 'code']),
      embedding: float32Blob(rng.unitVector(dims)),
      dimensions: dims,
      metadata: JSON.stringify({ file: rng.pick(FILES) }),
      created_at: enc.ms(s, rng),
      updated_at: rng.chance(0.5) ? enc.ms(s + 100, rng) : null,
    };
  });
  tables['embeddings'] = Array.from({ length: n.embeddings }, (_, i) => ({
    key: `emb-${i + 1}`,
    namespace: rng.pick(['code', 'tests', 'docs']),
    vector: float32Blob(rng.unitVector(384)),
    dimension: 384,
    text: sentence(rng, 8),
    timestamp: enc.ms(rng.seconds(), rng),
    quantization: rng.chance(0.2) ? 'none' : null,
  }));
  tables['captured_experiences'] = Array.from({ length: n.captured }, (_, i) => {
    const s = rng.seconds();
    const withEmbedding = rng.chance(0.6);
    return {
      id: `cexp-${s * 1000 + rng.int(0, 999)}-${rng.hex(6)}`,
      task: sentence(rng, 7),
      agent: rng.pick(AGENTS),
      domain: rng.pick(QE_DOMAINS),
      success: rng.chance(0.75) ? 1 : 0,
      quality: rng.round(rng.next()),
      duration_ms: rng.int(10, 120_000),
      model_tier: rng.int(1, 3),
      routing_json: JSON.stringify({ tier: rng.int(1, 3), reason: sentence(rng, 3) }),
      steps_json: JSON.stringify([{ tool: 'Bash', ok: true }]),
      result_json: rng.chance(0.8) ? JSON.stringify({ passed: rng.int(0, 100), failed: rng.int(0, 5) }) : null,
      error: rng.chance(0.1) ? 'AssertionError: expected 1 to be 2' : null,
      started_at: enc.iso(s, rng),
      // One buggy-migration completion time.
      completed_at: i === 0 ? enc.isoExtendedYear(s) : enc.iso(s + rng.int(1, 600), rng),
      source: rng.pick(['hook', 'cli', 'mcp']),
      embedding: withEmbedding ? float32Blob(rng.unitVector(384)) : null,
      embedding_dimension: withEmbedding ? 384 : null,
      tags: JSON.stringify([rng.pick(WORDS)]),
    };
  });
  tables['dream_insights'] = Array.from({ length: n.dream }, (_, i) => ({
    id: `insight-${i + 1}`,
    cycle_id: `cycle-${rng.int(1, 5)}`,
    insight_type: rng.pick(['association', 'novelty', 'gap']),
    source_concepts: JSON.stringify([rng.pick(WORDS), rng.pick(WORDS)]),
    description: sentence(rng, 9),
    novelty_score: rng.round(rng.next()),
    confidence_score: rng.round(rng.next()),
    actionable: rng.chance(0.4) ? 1 : 0,
    created_at: enc.sqliteText(rng.seconds()),
  }));

  // Everything but the tails goes in one transaction and is checkpointed into the main file; the
  // tails of a few busy tables are committed one small transaction at a time afterwards, which with
  // wal_autocheckpoint=0 leaves them in the -wal only.
  // Embeddings follow their patterns (the foreign key is enforced): the embeddings of tail
  // patterns are a suffix of the embeddings, since both are generated in pattern order.
  const tailTables = ['qe_patterns', 'qe_pattern_embeddings', 'qe_pattern_usage', 'kv_store', 'rl_q_values', 'captured_experiences'];
  const tailSize = (rows: readonly Row[]) => Math.max(1, Math.round(rows.length * 0.05));
  const tailPatternIds = new Set(patterns.slice(patterns.length - tailSize(patterns)).map((p) => p['id']));
  const counts: Record<string, number> = {};
  const tail: Record<string, number> = {};
  const head = db.transaction(() => {
    for (const [table, rows] of Object.entries(tables)) {
      let cut = rows.length;
      if (table === 'qe_pattern_embeddings') {
        const first = rows.findIndex((r) => tailPatternIds.has(r['pattern_id']));
        cut = first === -1 ? rows.length : first;
      } else if (tailTables.includes(table)) {
        cut = rows.length - tailSize(rows);
      }
      counts[table] = insertAll(db, table, rows.slice(0, cut));
      tail[table] = rows.length - cut;
    }
    insertAll(db, 'qe_patterns_fts', ftsRows);
  });
  head();
  db.pragma('wal_checkpoint(TRUNCATE)');
  for (const table of tailTables) {
    const rows = tables[table] ?? [];
    const tailRows = rows.slice(rows.length - (tail[table] ?? 0));
    // Three commits per table, like a running tool.
    const chunk = Math.max(1, Math.ceil(tailRows.length / 3));
    for (let k = 0; k < tailRows.length; k += chunk) {
      const part = tailRows.slice(k, k + chunk);
      db.transaction(() => insertAll(db, table, part))();
      counts[table] = (counts[table] ?? 0) + part.length;
    }
  }
  for (const t of Object.keys(tail)) if (tail[t] === 0) delete tail[t];

  if (holdWal) return { counts, tail, held: db };
  db.close();
  return { counts, tail, held: undefined };
}

/** better-sqlite3 does not create parent folders. */
function mkdirSyncP(path: string): void {
  mkdirSync(path, { recursive: true });
}

// ---------------------------------------------------------------------------------------------
// .agentic-qe/memory.db (agentic-qe 1.x/2.x, rollback journal)

const ROOT_SCHEMA = `
CREATE TABLE memory_entries (
  key TEXT NOT NULL, partition TEXT NOT NULL DEFAULT 'default', value TEXT NOT NULL, metadata TEXT,
  created_at INTEGER NOT NULL, expires_at INTEGER, owner TEXT, access_level TEXT, team_id TEXT, swarm_id TEXT,
  PRIMARY KEY (key, partition)
);
CREATE TABLE events (
  id TEXT PRIMARY KEY, type TEXT NOT NULL, payload TEXT NOT NULL, timestamp INTEGER NOT NULL, source TEXT NOT NULL,
  ttl INTEGER NOT NULL DEFAULT 0, expires_at INTEGER
);
CREATE TABLE patterns (
  id TEXT PRIMARY KEY, pattern TEXT NOT NULL UNIQUE, confidence REAL NOT NULL, usage_count INTEGER NOT NULL DEFAULT 0,
  metadata TEXT, ttl INTEGER NOT NULL DEFAULT 604800, expires_at INTEGER, created_at INTEGER NOT NULL
);
ALTER TABLE patterns ADD COLUMN agent_id TEXT;
ALTER TABLE patterns ADD COLUMN domain TEXT DEFAULT 'general';
ALTER TABLE patterns ADD COLUMN success_rate REAL DEFAULT 1.0;
ALTER TABLE patterns ADD COLUMN embedding TEXT;
CREATE TABLE learning_experiences (
  id INTEGER PRIMARY KEY AUTOINCREMENT, agent_id TEXT NOT NULL, task_id TEXT, task_type TEXT NOT NULL, state TEXT NOT NULL,
  action TEXT NOT NULL, reward REAL NOT NULL, next_state TEXT NOT NULL, episode_id TEXT, metadata TEXT,
  created_at INTEGER, timestamp DATETIME DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE goap_actions (
  id TEXT PRIMARY KEY, description TEXT, agent_type TEXT NOT NULL, preconditions TEXT NOT NULL, effects TEXT NOT NULL,
  cost INTEGER NOT NULL DEFAULT 1, duration_estimate INTEGER, success_rate REAL DEFAULT 1.0, execution_count INTEGER DEFAULT 0,
  category TEXT, created_at INTEGER, updated_at INTEGER
);
CREATE TABLE goap_plans (
  id TEXT PRIMARY KEY, goal_id TEXT NOT NULL, sequence TEXT NOT NULL, total_cost INTEGER, status TEXT DEFAULT 'pending',
  created_at INTEGER, completed_at INTEGER
);
CREATE TABLE q_values (
  id INTEGER PRIMARY KEY AUTOINCREMENT, agent_id TEXT NOT NULL, state_key TEXT NOT NULL, action_key TEXT NOT NULL,
  q_value REAL NOT NULL DEFAULT 0, update_count INTEGER NOT NULL DEFAULT 1, metadata TEXT,
  created_at DATETIME DEFAULT CURRENT_TIMESTAMP, last_updated DATETIME DEFAULT CURRENT_TIMESTAMP,
  UNIQUE(agent_id, state_key, action_key)
);
CREATE TABLE performance_metrics (
  id TEXT PRIMARY KEY, metric TEXT NOT NULL, value REAL NOT NULL, unit TEXT NOT NULL, timestamp INTEGER NOT NULL, agent_id TEXT
);
`;

const PARTITIONS = ['default', 'learning', 'coordination', 'aqe', 'aqe/test', 'agents', 'goap', 'events'] as const;

function memoryValue(rng: Rng, i: number, partition: string): string {
  // Mostly JSON.stringify output; also plain strings, NUL characters and HTML in the same column.
  if (i % 53 === 7) return `plain status: ${rng.pick(['task-started', 'idle', 'done'])}`;
  if (i % 97 === 11) return JSON.stringify({ log: `line one\u0000line two ${rng.hex(4)}`, partition });
  if (i % 89 === 13) return `<div class="report"><h1>Coverage</h1><p>${rng.int(40, 99)}%</p><script>alert(1)</script></div>`;
  if (i % 71 === 5) return `raw\u0000bytes\u0000${rng.hex(6)}`;
  if (partition === 'learning') return JSON.stringify({ qTable: { [`s${i}`]: { a: rng.round(rng.next()) } }, episodes: rng.int(1, 500) });
  if (partition === 'agents') return JSON.stringify({ agentId: `${rng.pick(AGENTS)}-${rng.hex(6)}`, status: rng.pick(['active', 'idle', 'terminated']), capabilities: [rng.pick(WORDS)] });
  return JSON.stringify({ data: sentence(rng, 5), n: rng.int(0, 1000), ok: rng.chance(0.5), nested: { tags: [rng.pick(WORDS)] } });
}

function buildRootMemory(path: string, rng: Rng, n: Sizes): Record<string, number> {
  mkdirSyncP(dirname(path));
  const db = openFresh(path, 'delete');
  db.exec(ROOT_SCHEMA);
  const counts: Record<string, number> = {};

  const memory: Row[] = Array.from({ length: n.memoryEntries }, (_, i) => {
    const partition = PARTITIONS[i % PARTITIONS.length] ?? 'default';
    const s = rng.seconds();
    return {
      key: `${partition === 'aqe/test' ? 'aqe/test/results' : partition}:${rng.pick(WORDS)}:${i}`,
      partition,
      value: memoryValue(rng, i, partition),
      metadata: rng.chance(0.4) ? JSON.stringify({ version: rng.int(1, 3) }) : null,
      created_at: enc.ms(s, rng),
      expires_at: rng.chance(0.2) ? enc.ms(s + 86_400, rng) : null,
      owner: rng.chance(0.5) ? rng.pick(AGENTS) : null,
      access_level: rng.pick(['private', 'team', 'swarm', 'public']),
      team_id: rng.chance(0.2) ? `team-${rng.int(1, 3)}` : null,
      swarm_id: rng.chance(0.3) ? `swarm-${rng.hex(6)}` : null,
    };
  });

  const events: Row[] = Array.from({ length: n.events }, (_, i) => {
    const s = rng.seconds();
    const type = rng.pick(['agent:spawned', 'task:completed', 'learning:training', 'test:executed', 'coverage:updated']);
    return {
      id: `evt-${s * 1000 + rng.int(0, 999)}-${i}`,
      type,
      payload: i % 61 === 3 ? 'task-started' : JSON.stringify({ agentId: rng.pick(AGENTS), result: { ok: rng.chance(0.8), ms: rng.int(1, 9000) } }),
      timestamp: enc.ms(s, rng),
      source: rng.pick(AGENTS),
      ttl: rng.pick([0, 3600, 86_400]),
      expires_at: rng.chance(0.3) ? enc.ms(s + 3600, rng) : null,
    };
  });

  const patterns: Row[] = Array.from({ length: n.rootPatterns }, (_, i) => {
    const s = rng.seconds();
    return {
      id: `pattern-${s * 1000 + rng.int(0, 999)}-${rng.hex(9)}`,
      pattern: `${rng.pick(PATTERN_TYPES)}#${i}: ${sentence(rng, 4)}`,
      confidence: rng.round(rng.next()),
      usage_count: rng.int(0, 40),
      metadata: JSON.stringify({ framework: rng.pick(['jest', 'mocha', 'vitest']) }),
      ttl: 604_800,
      expires_at: rng.chance(0.3) ? enc.msWholeSecond(s + 604_800) : null,
      created_at: enc.msWholeSecond(s),
      agent_id: rng.chance(0.7) ? rng.pick(AGENTS) : null,
      domain: rng.pick(['general', 'api', 'ui', 'unit']),
      success_rate: rng.round(rng.next()),
      embedding: rng.chance(0.6) ? JSON.stringify(rng.unitVector(384).map((x) => rng.round(x, 6))) : null,
    };
  });

  const learning: Row[] = Array.from({ length: n.learning }, (_, i) => {
    const s = rng.seconds();
    return {
      agent_id: rng.pick(AGENTS),
      task_id: rng.chance(0.8) ? `task-${rng.hex(8)}` : null,
      task_type: rng.pick(['test-generation', 'coverage-analysis', 'flaky-detection']),
      // Plain strings occur in the "JSON" state columns.
      state: i % 9 === 0 ? 'task-started' : JSON.stringify({ complexity: rng.round(rng.next()), files: rng.int(1, 20) }),
      action: JSON.stringify({ strategy: rng.pick(WORDS) }),
      reward: rng.round(rng.next() * 2 - 1),
      next_state: i % 9 === 0 ? 'task-completed' : JSON.stringify({ complexity: rng.round(rng.next()) }),
      episode_id: `ep-${rng.int(1, 40)}`,
      metadata: rng.chance(0.5) ? JSON.stringify({ source: 'learning-engine' }) : null,
      created_at: enc.ms(s, rng),
      timestamp: enc.sqliteText(s),
    };
  });

  const goapActions: Row[] = Array.from({ length: n.rootGoapActions }, () => {
    const s = rng.seconds();
    return {
      id: `action-${s * 1000 + rng.int(0, 999)}-${rng.hex(8)}`,
      description: sentence(rng, 5),
      agent_type: rng.pick(AGENTS),
      preconditions: JSON.stringify({ [rng.pick(WORDS)]: true }),
      effects: JSON.stringify({ [rng.pick(WORDS)]: true }),
      cost: rng.int(1, 10),
      duration_estimate: rng.int(100, 30_000),
      success_rate: rng.round(rng.next()),
      execution_count: rng.int(0, 50),
      category: rng.pick(['test', 'analysis']),
      // INTEGER column holding both Date.now() and datetime('now') text.
      created_at: rng.chance(0.5) ? enc.ms(s, rng) : enc.sqliteText(s),
      updated_at: enc.ms(s, rng),
    };
  });
  if (goapActions.length >= 2) {
    (goapActions[0] as Row)['created_at'] = enc.ms(BASE_S, rng);
    (goapActions[1] as Row)['created_at'] = enc.sqliteText(BASE_S + 60);
  }

  const goapPlans: Row[] = Array.from({ length: n.rootGoapPlans }, () => {
    const s = rng.seconds();
    return {
      id: `plan-${rng.uuid()}`,
      goal_id: `goal-${rng.int(1, 5)}`,
      sequence: JSON.stringify(goapActions.slice(0, 2).map((a) => a['id'])),
      total_cost: rng.int(1, 20),
      status: rng.pick(['pending', 'completed', 'failed']),
      created_at: enc.ms(s, rng),
      completed_at: rng.chance(0.5) ? enc.ms(s + 600, rng) : null,
    };
  });

  const qValues: Row[] = Array.from({ length: n.qValues }, (_, i) => {
    const s = rng.seconds();
    return {
      agent_id: rng.pick(AGENTS),
      state_key: `s:${i}`,
      action_key: `a:${rng.pick(WORDS)}`,
      q_value: rng.round(rng.next() * 2 - 1, 6),
      update_count: rng.int(1, 80),
      metadata: null,
      created_at: enc.sqliteText(s),
      last_updated: enc.sqliteText(s + rng.int(0, 86_400)),
    };
  });

  const perf: Row[] = Array.from({ length: n.perf }, (_, i) => ({
    id: `metric-${i + 1}-${rng.hex(6)}`,
    metric: rng.pick(['task_duration', 'memory_usage', 'tokens', 'success_rate']),
    value: rng.round(rng.next() * 1000, 3),
    unit: rng.pick(['ms', 'MB', 'count', 'ratio']),
    timestamp: enc.ms(rng.seconds(), rng),
    agent_id: rng.chance(0.7) ? rng.pick(AGENTS) : null,
  }));

  db.transaction(() => {
    counts['memory_entries'] = insertAll(db, 'memory_entries', memory);
    counts['events'] = insertAll(db, 'events', events);
    counts['patterns'] = insertAll(db, 'patterns', patterns);
    counts['learning_experiences'] = insertAll(db, 'learning_experiences', learning);
    counts['goap_actions'] = insertAll(db, 'goap_actions', goapActions);
    counts['goap_plans'] = insertAll(db, 'goap_plans', goapPlans);
    counts['q_values'] = insertAll(db, 'q_values', qValues);
    counts['performance_metrics'] = insertAll(db, 'performance_metrics', perf);
  })();
  db.close();
  return counts;
}

// ---------------------------------------------------------------------------------------------
// .swarm/memory.db (claude-flow variant: Unix seconds)

const SWARM_SCHEMA = `
CREATE TABLE memory_entries (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, value TEXT NOT NULL, namespace TEXT NOT NULL DEFAULT 'default',
  metadata TEXT, created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
  updated_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')), accessed_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
  access_count INTEGER NOT NULL DEFAULT 0, ttl INTEGER, expires_at INTEGER, UNIQUE(key, namespace)
);
CREATE TABLE patterns (
  id TEXT PRIMARY KEY, type TEXT NOT NULL, pattern_data TEXT NOT NULL, confidence REAL NOT NULL DEFAULT 0.5,
  usage_count INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL DEFAULT (datetime('now')), last_used TEXT
);
CREATE TABLE pattern_embeddings (
  id TEXT PRIMARY KEY, model TEXT NOT NULL, dims INTEGER NOT NULL, vector BLOB NOT NULL,
  created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE TABLE pattern_links (src_id TEXT NOT NULL, dst_id TEXT NOT NULL, relation TEXT NOT NULL, weight REAL NOT NULL DEFAULT 1.0,
  created_at TEXT NOT NULL DEFAULT (datetime('now')), PRIMARY KEY (src_id, dst_id, relation));
CREATE TABLE task_trajectories (
  task_id TEXT PRIMARY KEY, agent_id TEXT NOT NULL, query TEXT NOT NULL, trajectory_json TEXT NOT NULL, started_at TEXT,
  ended_at TEXT, judge_label TEXT, judge_conf REAL, judge_reasons TEXT, matts_run_id TEXT,
  created_at TEXT NOT NULL DEFAULT (datetime('now'))
);
`;

function buildSwarmMemory(path: string, rng: Rng, n: Sizes): Record<string, number> {
  mkdirSyncP(dirname(path));
  const db = openFresh(path, 'wal');
  db.exec(SWARM_SCHEMA);
  const namespaces = ['hooks:pre-bash', 'hooks:post-edit', 'hooks:pre-task', 'sessions', 'default', 'swarm'];
  const memory: Row[] = Array.from({ length: n.swarmMemory }, (_, i) => {
    const s = rng.seconds();
    const ns = namespaces[i % namespaces.length] ?? 'default';
    return {
      key: ns.startsWith('hooks') ? `${ns.slice(6)}:${s}` : `${ns}-${rng.hex(8)}`,
      value: ns === 'hooks:pre-bash' ? JSON.stringify({ command: `npm test -- ${rng.pick(FILES)}`, safe: true }) : JSON.stringify({ id: rng.hex(8), summary: sentence(rng, 5) }),
      namespace: ns,
      metadata: rng.chance(0.5) ? JSON.stringify({ source: 'hooks' }) : null,
      created_at: enc.seconds(s),
      updated_at: enc.seconds(s + rng.int(0, 600)),
      accessed_at: enc.seconds(s + rng.int(0, 3600)),
      access_count: rng.int(0, 9),
      ttl: rng.chance(0.3) ? 86_400 : null,
      expires_at: rng.chance(0.3) ? s + 86_400 : null,
    };
  });
  const patterns: Row[] = Array.from({ length: n.swarmPatterns }, () => {
    const s = rng.seconds();
    return {
      id: rng.uuid(),
      type: 'reasoning_memory',
      pattern_data: JSON.stringify({ title: sentence(rng, 3), content: sentence(rng, 12), domain: rng.pick(QE_DOMAINS) }),
      confidence: rng.round(rng.next()),
      usage_count: rng.int(0, 12),
      created_at: enc.sqliteText(s),
      last_used: rng.chance(0.5) ? enc.sqliteText(s + 3600) : null,
    };
  });
  const patternEmbeddings: Row[] = patterns.map((p) => ({
    id: p['id'],
    model: 'hash-embedding',
    dims: 1024,
    vector: float32Blob(rng.unitVector(1024)),
    created_at: p['created_at'],
  }));
  const trajectories: Row[] = Array.from({ length: n.trajectoriesTask }, () => {
    const s = rng.seconds();
    return {
      task_id: `task-${rng.hex(10)}`,
      agent_id: rng.pick(AGENTS),
      query: sentence(rng, 6),
      trajectory_json: JSON.stringify([{ action: 'read', file: rng.pick(FILES) }, { action: 'edit' }]),
      started_at: enc.iso(s, rng),
      ended_at: enc.iso(s + rng.int(5, 900), rng),
      judge_label: rng.pick(['Success', 'Failure']),
      judge_conf: rng.round(rng.next()),
      judge_reasons: JSON.stringify([sentence(rng, 4)]),
      matts_run_id: null,
      created_at: enc.sqliteText(s),
    };
  });
  const counts: Record<string, number> = {};
  db.transaction(() => {
    counts['memory_entries'] = insertAll(db, 'memory_entries', memory);
    counts['patterns'] = insertAll(db, 'patterns', patterns);
    counts['pattern_embeddings'] = insertAll(db, 'pattern_embeddings', patternEmbeddings);
    counts['pattern_links'] = 0;
    counts['task_trajectories'] = insertAll(db, 'task_trajectories', trajectories);
  })();
  db.close();
  return counts;
}

// ---------------------------------------------------------------------------------------------
// JSON sources

interface JsonFile {
  path: string;
  source: string;
  text: string;
  counts: Record<string, number>;
}

function buildJsonSources(rng: Rng, n: Sizes, volume: Volume): JsonFile[] {
  const out: JsonFile[] = [];

  // .claude-flow/memory/store.json: the records are the members of `entries`.
  const entries: Record<string, unknown> = {};
  const values: Array<() => unknown> = [
    () => sentence(rng, 5),
    () => rng.int(0, 1e6),
    () => ({ decision: sentence(rng, 3), files: [rng.pick(FILES)], confidence: rng.round(rng.next()) }),
    () => [rng.pick(WORDS), rng.pick(WORDS)],
    () => rng.chance(0.5),
    () => null,
    () => JSON.stringify({ encoded: true, n: rng.int(0, 9) }),
  ];
  for (let i = 0; i < n.storeEntries; i++) {
    const s = rng.seconds();
    const key = `${rng.pick(['session', 'pattern', 'decision', 'task'])}-${i}-${rng.hex(4)}`;
    const entry: Record<string, unknown> = { key, value: (values[i % values.length] ?? values[0] ?? (() => null))() };
    if (rng.chance(0.6)) entry['metadata'] = { tags: [rng.pick(WORDS)], source: 'cli' };
    if (rng.chance(0.7)) entry['namespace'] = rng.pick(['default', 'patterns', 'sessions']);
    entry['storedAt'] = enc.iso(s, rng);
    entry['accessCount'] = rng.int(0, 20);
    entry['lastAccessed'] = enc.iso(s + rng.int(0, 86_400), rng);
    entries[key] = entry;
  }
  out.push({
    path: sourcePath('claude-flow-store'),
    source: 'claude-flow-store',
    text: JSON.stringify({ version: '3.0.0', entries }, null, 2),
    counts: { entries: n.storeEntries },
  });

  // .claude-flow/daemon-state.json
  const workerTypes = ['map', 'audit', 'optimize', 'consolidate', 'testgaps', 'predict', 'document', 'ultralearn', 'deepdive', 'refactor', 'benchmark', 'preload'];
  const workers: Record<string, unknown> = {};
  for (const type of workerTypes.slice(0, n.workers)) {
    const runs = rng.int(0, 300);
    const failures = rng.int(0, Math.floor(runs / 10));
    const last = rng.seconds();
    workers[type] = {
      runCount: runs,
      successCount: runs - failures,
      failureCount: failures,
      averageDurationMs: rng.round(rng.next() * 5000, 2),
      isRunning: rng.chance(0.2),
      lastRun: runs > 0 ? enc.iso(last, rng) : undefined,
      nextRun: enc.iso(last + 900, rng),
    };
  }
  out.push({
    path: sourcePath('claude-flow-daemon'),
    source: 'claude-flow-daemon',
    text: JSON.stringify(
      {
        running: true,
        startedAt: enc.iso(BASE_S, rng),
        workers,
        config: { autoStart: true, logDir: '.claude-flow/logs', maxConcurrent: 2, workerTimeoutMs: 300_000, resourceThresholds: { maxCpuLoad: 2, minFreeMemoryPercent: 20 } },
        savedAt: enc.iso(BASE_S + SPAN_S, rng),
      },
      null,
      2,
    ),
    counts: { workers: Object.keys(workers).length },
  });

  // .claude-flow/metrics/*.json: objects and arrays of samples.
  const metricsDir = sourcePath('claude-flow-metrics');
  const samples = Array.from({ length: n.samples }, (_, i) => ({
    timestamp: enc.ms(BASE_S + i * 60, rng),
    memoryTotal: 8_589_934_592,
    memoryUsed: rng.int(2e9, 7e9),
    memoryFree: rng.int(1e9, 6e9),
    memoryUsagePercent: rng.round(rng.next() * 100, 2),
    cpuCount: 2,
    cpuLoad: rng.round(rng.next() * 2, 2),
    platform: 'linux',
    uptime: 1000 + i * 60,
  }));
  const metricFiles: Record<string, unknown> = {
    performance: { startTime: enc.ms(BASE_S, rng), totalTasks: rng.int(0, 999), successfulTasks: rng.int(0, 900), failedTasks: rng.int(0, 99), averageTaskTime: rng.round(rng.next() * 1e4, 1), agentsSpawned: rng.int(0, 50), memoryMode: 'hybrid', lastUpdated: enc.iso(BASE_S + 100, rng) },
    learning: { patterns: { shortTerm: rng.int(0, 99), longTerm: rng.int(0, 99) }, sona: { adaptationTimeMs: rng.round(rng.next(), 3), trajectories: rng.int(0, 999) }, lastConsolidation: enc.ms(BASE_S + 500, rng) },
    'system-metrics': samples,
  };
  if (volume === 'plan') {
    metricFiles['swarm-activity'] = { swarm: { active: false, agentCount: 0, coordinationScore: rng.round(rng.next()) }, timestamp: enc.iso(BASE_S + 700, rng) };
    metricFiles['codebase-map'] = { files: rng.int(100, 999), modules: Object.fromEntries(FILES.map((f) => [f, rng.int(10, 800)])), generatedAt: enc.iso(BASE_S + 800, rng) };
    metricFiles['security-audit'] = { findings: [{ severity: 'medium', rule: 'no-eval', file: rng.pick(FILES) }], scannedAt: enc.ms(BASE_S + 900, rng) };
    metricFiles['consolidation'] = { merged: rng.int(0, 50), pruned: rng.int(0, 20), at: enc.seconds(BASE_S + 1000) };
    metricFiles['test-gaps'] = Array.from({ length: 25 }, () => ({ file: rng.pick(FILES), uncoveredLines: rng.int(1, 80), priority: rng.pick(['high', 'medium', 'low']) }));
    metricFiles['health'] = { status: 'healthy', checks: { memory: 'ok', disk: 'ok' }, checkedAt: enc.iso(BASE_S + 1100, rng) };
  }
  for (const [name, content] of Object.entries(metricFiles)) {
    out.push({
      path: `${metricsDir}/${name}.json`,
      source: 'claude-flow-metrics',
      text: JSON.stringify(content, null, 2),
      counts: { [name]: Array.isArray(content) ? content.length : 1 },
    });
  }

  out.push(buildIntelligence(rng, n));
  return out;
}

/** v3/.ruvector/intelligence.json, pretty-printed with 2 spaces like the hooks write it. */
function buildIntelligence(rng: Rng, n: Sizes): JsonFile {
  const states = Array.from({ length: 40 }, (_, i) => `${rng.pick(['edit', 'cmd', 'read'])}:${rng.pick(['ts', 'js', 'md', 'json'])}:${FILES[i % FILES.length]}`);
  const patterns: Record<string, unknown> = {};
  let k = 0;
  while (Object.keys(patterns).length < n.intelPatterns) {
    const state = states[k % states.length] ?? 'edit:ts:src/index.ts';
    const action = `${rng.pick(AGENTS)}-${Math.floor(k / states.length)}`;
    patterns[`${state}|${action}`] = { state, action, q_value: rng.round(rng.next() * 2 - 1, 6), visits: rng.int(1, 90), last_update: rng.seconds() };
    k++;
  }

  // Ids are second-resolution timestamps: about 10% reuse the previous second and collide.
  const collidingSeconds = (count: number): number[] => {
    const out: number[] = [];
    let t = BASE_S;
    for (let i = 0; i < count; i++) {
      if (i > 0 && rng.chance(0.1)) out.push(t);
      else {
        t += rng.int(1, 5000);
        out.push(t);
      }
    }
    return out;
  };
  const memories = collidingSeconds(n.memories).map((s, i) => ({
    id: `mem_${s}`,
    memory_type: rng.pick(['edit', 'command', 'file_access', 'project', 'search_pattern']),
    content: `${rng.pick(['Edited', 'Ran', 'Read'])} ${rng.pick(FILES)}: ${sentence(rng, 4)}`,
    // Mostly 64-d; some null; one 384-d vector from a newer version.
    embedding: i % 19 === 4 ? null : rng.unitVector(i === 3 ? 384 : 64),
    metadata: { file: rng.pick(FILES), success: rng.chance(0.8) },
    timestamp: s,
  }));
  const trajectories = collidingSeconds(n.trajectories).map((s) => ({
    id: `traj_${s}`,
    state: rng.pick(states),
    action: rng.pick(AGENTS),
    outcome: rng.pick(['success', 'failure', 'partial']),
    reward: rng.round(rng.next() * 2 - 1, 3),
    timestamp: s,
  }));
  const errors: Record<string, unknown> = {};
  for (let i = 0; i < n.errors; i++) {
    errors[`E${1000 + i}`] = { code: `E${1000 + i}`, message: `TS${2300 + i}: ${sentence(rng, 4)}`, count: rng.int(1, 30), fixes: [sentence(rng, 3)], last_seen: rng.seconds() };
  }
  const fileSequences = Array.from({ length: n.fileSeq }, () => ({ from: rng.pick(FILES), to: rng.pick(FILES), count: rng.int(1, 40) }));
  const agents: Record<string, unknown> = {};
  for (let i = 0; i < n.agents; i++) agents[`${rng.pick(AGENTS)}-${i}`] = { type: rng.pick(AGENTS), tasks: rng.int(0, 200), success_rate: rng.round(rng.next()), last_active: rng.seconds() };
  const edges = Array.from({ length: n.edges }, () => ({ source: rng.pick(FILES), target: rng.pick(FILES), weight: rng.round(rng.next()), type: rng.pick(['imports', 'co-edit']) }));

  const doc = {
    patterns,
    memories,
    trajectories,
    errors,
    file_sequences: fileSequences,
    agents,
    edges,
    // Counters need not match the collections.
    stats: { total_patterns: n.intelPatterns + 3, total_memories: n.memories - 1, total_trajectories: n.trajectories, total_errors: n.errors, session_count: rng.int(1, 90), last_session: BASE_S + SPAN_S },
    learning: { algorithm: 'q-learning', alpha: 0.1, gamma: 0.9, epsilon: 0.1 },
  };
  return {
    path: sourcePath('ruvector-intelligence'),
    source: 'ruvector-intelligence',
    text: JSON.stringify(doc, null, 2),
    counts: {
      patterns: Object.keys(patterns).length,
      memories: memories.length,
      trajectories: trajectories.length,
      errors: Object.keys(errors).length,
      file_sequences: fileSequences.length,
      agents: Object.keys(agents).length,
      edges: edges.length,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// v2/data/ruvector-patterns.db (@ruvector/core VectorDb, redb)

/**
 * The binding has no close() and redb locks the file per process, so the file is written by a short
 * child process: when it exits, the lock is gone and any process can open the file.
 */
const REDB_WRITER = `
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  try {
    const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const { VectorDb } = require(job.corePath);
    const db = new VectorDb({ dimensions: job.dimensions, storagePath: job.path, distanceMetric: 'Cosine', hnswConfig: { m: 32, efConstruction: 200, efSearch: 100 } });
    const entries = job.entries.map((e) => {
      const out = { id: e.id, vector: Float32Array.from(e.vector) };
      if (e.metadata !== undefined) out.metadata = e.metadata;
      return out;
    });
    if (entries.length > 0) await db.insertBatch(entries);
    process.stdout.write(JSON.stringify({ count: await db.len() }));
    process.exit(0);
  } catch (err) {
    process.stderr.write(String(err && err.stack || err));
    process.exit(1);
  }
});
`;

async function buildRuvectorPatterns(root: string, rng: Rng, count: number): Promise<{ files: string[]; count: number }> {
  const rel = sourcePath('ruvector-patterns');
  const path = join(root, rel);
  await mkdir(dirname(path), { recursive: true });
  const entries = Array.from({ length: count }, (_, i) => {
    const s = rng.seconds();
    const id = `pattern-${s * 1000 + rng.int(0, 999)}-${rng.hex(9)}`;
    const vector = rng.unitVector(384);
    // The v2 store kept metadata beside the binding; some entries carry none.
    const metadata =
      i % 11 === 10
        ? undefined
        : JSON.stringify({ type: rng.pick(PATTERN_TYPES), domain: rng.pick(QE_DOMAINS), content: sentence(rng, 8), framework: rng.pick(['jest', 'vitest']), createdAt: enc.ms(s, rng), usageCount: rng.int(0, 30) });
    return { id, vector, metadata };
  });
  const corePath = createRequire(import.meta.url).resolve('@ruvector/core');
  const result = await runNode(REDB_WRITER, JSON.stringify({ corePath, path, dimensions: 384, entries }));
  const written = (JSON.parse(result) as { count: number }).count;
  if (written !== count) throw new Error(`ruvector-patterns: wrote ${count} vectors, the file holds ${written}`);
  const metaRel = `${rel}.meta.json`;
  await writeFile(
    join(root, metaRel),
    JSON.stringify({ version: '2.0.0', dimension: 384, metric: 'cosine', count, hnsw: { m: 32, efConstruction: 200, efSearch: 100 }, createdAt: enc.iso(BASE_S, rng), updatedAt: enc.iso(BASE_S + SPAN_S, rng) }, null, 2),
  );
  return { files: [rel, metaRel], count };
}

/** Runs a CommonJS snippet in a child Node process with `input` on stdin; resolves with its stdout. */
function runNode(script: string, input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`child process exited with ${code}: ${err.trim()}`));
    });
    child.stdin.end(input);
  });
}

const REDB_COUNTER = `
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  try {
    const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const { VectorDb } = require(job.corePath);
    const db = new VectorDb({ dimensions: 384, storagePath: job.path, distanceMetric: 'Cosine' });
    process.stdout.write(JSON.stringify({ count: await db.len() }));
    process.exit(0);
  } catch (err) {
    process.stderr.write(String(err && err.stack || err));
    process.exit(1);
  }
});
`;

/**
 * Number of vectors in a @ruvector/core (redb) file, read in a child process.
 *
 * Why a child: opening a VectorDb whose stored config has the default HNSW `maxElements` (10M)
 * reserves ~37 GB of virtual memory, after which `spawn()` from that process fails with ENOMEM
 * (overcommit heuristic), and redb keeps the file locked until the process exits.
 */
export async function redbVectorCount(path: string): Promise<number> {
  const corePath = createRequire(import.meta.url).resolve('@ruvector/core');
  const out = await runNode(REDB_COUNTER, JSON.stringify({ corePath, path }));
  return (JSON.parse(out) as { count: number }).count;
}
