// Source files in the exact formats the real tools write (issue 15): agentic-qe 3.14's runtime
// database made by agentic-qe itself (its UnifiedMemoryManager and brain-table DDL, a pinned
// devDependency), and claude-flow 3.43's `.swarm/memory.db` with the AgentDB ReasoningBank tables,
// from the DDL and INSERT statements those packages publish (quoted verbatim below: installing
// claude-flow takes ~5 minutes, too long for a test), plus store.json and intelligence.json as
// they write them. Generated per test; nothing binary is committed.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Sqlite from 'better-sqlite3';

/** Where the pinned agentic-qe package is (its `exports` map hides deep paths from resolve()). */
export function agenticQeDir(): string {
  const paths = createRequire(import.meta.url).resolve.paths('agentic-qe') ?? [];
  for (const p of [...paths, resolve('node_modules')]) {
    const dir = join(p, 'agentic-qe');
    if (existsSync(join(dir, 'package.json'))) return dir;
  }
  throw new Error('agentic-qe is not installed (it is a devDependency: run npm ci)');
}

/** The agentic-qe CLI (`aqe`) of the pinned package. */
export function agenticQeCli(): string {
  return join(agenticQeDir(), 'dist/cli/bundle.js');
}

// ---------------------------------------------------------------------------------------------
// agentic-qe 3.14: v3/.agentic-qe/memory.db

interface UnifiedMemoryModule {
  initializeUnifiedMemory(config: { dbPath: string }): Promise<{ getDatabase(): Sqlite.Database; close(): void }>;
  resetUnifiedMemory(): void;
}

/** A deterministic unit vector standing in for an embedding (not semantic). */
export function unitVector(seed: number, dim = 384): Float32Array {
  const v = new Float32Array(dim);
  let x = seed * 2654435761;
  let norm = 0;
  for (let i = 0; i < dim; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    v[i] = (x / 4294967296) * 2 - 1;
    norm += v[i]! * v[i]!;
  }
  norm = Math.sqrt(norm);
  for (let i = 0; i < dim; i++) v[i] = v[i]! / norm;
  return v;
}

export interface AqeV3Fixture {
  path: string;
  capturedExperiences: Array<{ id: string; task: string; agent: string; domain: string; startedAt: string }>;
  dreamInsight: { id: string; description: string };
}

/**
 * Creates `path` with agentic-qe 3.14's own code (UnifiedMemoryManager runs its migrations, in
 * WAL mode; ensureAllBrainTables adds captured_experiences and the other brain tables), then
 * writes rows with the statements agentic-qe issues: captured_experiences as
 * learning/experience-capture-middleware.js persists them (started_at ISO, completed_at
 * datetime('now'), then the Float32 embedding UPDATE), a dream insight and a witness entry.
 * Closed cleanly: a WAL database without -wal/-shm files, as the tool leaves it.
 */
export async function writeAgenticQeV3Db(path: string): Promise<AqeV3Fixture> {
  mkdirSync(dirname(path), { recursive: true });
  const dir = agenticQeDir();
  const um = (await import(pathToFileURL(join(dir, 'dist/kernel/unified-memory.js')).href)) as UnifiedMemoryModule;
  const ddl = (await import(pathToFileURL(join(dir, 'dist/integrations/ruvector/brain-table-ddl.js')).href)) as { ensureAllBrainTables(db: Sqlite.Database): void };
  const log = console.log;
  console.log = () => undefined; // the tool narrates its migrations on stdout
  try {
    const memory = await um.initializeUnifiedMemory({ dbPath: path });
    const db = memory.getDatabase();
    ddl.ensureAllBrainTables(db);
    const experiences = [
      { id: 'exp-6f1c2a3b-0000-4000-8000-000000000001', task: 'Generate unit tests for the checkout discount rules', agent: 'qe-test-architect', domain: 'test-generation', startedAt: '2026-02-10T09:15:30.250Z' },
      { id: 'exp-6f1c2a3b-0000-4000-8000-000000000002', task: 'Find why the payment webhook test is flaky', agent: 'qe-flaky-hunter', domain: 'test-execution', startedAt: '2026-02-11T14:02:00.000Z' },
    ];
    // learning/experience-capture-middleware.js persistExperience (completed_at = datetime('now'))
    const insert = db.prepare(`
      INSERT OR REPLACE INTO captured_experiences
      (id, task, agent, domain, success, quality, duration_ms, model_tier,
       routing_json, steps_json, result_json, error, started_at, completed_at, source)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, datetime('now'), ?)
    `);
    const [first, second] = experiences as [(typeof experiences)[number], (typeof experiences)[number]];
    insert.run(first.id, first.task, first.agent, first.domain, 1, 0.92, 48_210, 2, JSON.stringify({ tier: 2, reason: 'moderate complexity' }), JSON.stringify([{ action: 'read the discount rules', outcome: 'found 4 edge cases' }, { action: 'write table-driven tests', outcome: '12 cases pass' }]), JSON.stringify({ testsWritten: 12, coverage: 0.94 }), null, first.startedAt, 'middleware');
    insert.run(second.id, second.task, second.agent, second.domain, 0, 0.35, 91_002, 3, null, JSON.stringify([{ action: 'rerun the webhook test 50 times', outcome: '3 failures' }]), null, 'timeout waiting for the webhook signature', second.startedAt, 'middleware');
    // computeExperienceEmbedding: Buffer.from(new Float32Array(embedding).buffer)
    db.prepare('UPDATE captured_experiences SET embedding = ?, embedding_dimension = ? WHERE id = ? AND embedding IS NULL').run(Buffer.from(unitVector(7).buffer), 384, first.id);
    const dreamInsight = { id: 'insight-1', description: 'Tests that share a mutable clock fail together: fake timers per test' };
    db.prepare(`INSERT INTO dream_cycles (id, start_time, status) VALUES ('cycle-1', datetime('now'), 'completed')`).run();
    db.prepare(`INSERT INTO dream_insights (id, cycle_id, insight_type, source_concepts, description, novelty_score, confidence_score, actionable) VALUES (?, 'cycle-1', 'pattern_merge', '["clock","flaky"]', ?, 0.7, 0.8, 1)`).run(dreamInsight.id, dreamInsight.description);
    memory.close();
    um.resetUnifiedMemory();
    return { path, capturedExperiences: experiences, dreamInsight };
  } finally {
    console.log = log;
  }
}

// ---------------------------------------------------------------------------------------------
// claude-flow 3.43: .swarm/memory.db

/**
 * Verbatim from claude-flow@3.43.0 v3/@claude-flow/cli/dist/src/memory/memory-initializer.js
 * (MEMORY_SCHEMA_V3: memory_entries, patterns, trajectories).
 */
export const CLAUDE_FLOW_V3_DDL = `
CREATE TABLE IF NOT EXISTS memory_entries (
  id TEXT PRIMARY KEY,
  key TEXT NOT NULL,
  namespace TEXT DEFAULT 'default',
  content TEXT NOT NULL,
  type TEXT DEFAULT 'semantic' CHECK(type IN ('semantic', 'episodic', 'procedural', 'working', 'pattern')),
  embedding TEXT,
  embedding_model TEXT DEFAULT 'local',
  embedding_dimensions INTEGER,
  tags TEXT,
  metadata TEXT,
  owner_id TEXT,
  provenance_type TEXT DEFAULT 'unknown' CHECK(provenance_type IN (
    'user_claim', 'agent_output', 'system_observation', 'tool_result', 'unknown'
  )),
  created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now') * 1000),
  updated_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now') * 1000),
  expires_at INTEGER,
  last_accessed_at INTEGER,
  access_count INTEGER DEFAULT 0,
  status TEXT DEFAULT 'active' CHECK(status IN ('active', 'archived', 'deleted')),
  UNIQUE(namespace, key)
);
CREATE TABLE IF NOT EXISTS patterns (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  pattern_type TEXT NOT NULL CHECK(pattern_type IN (
    'task-routing', 'error-recovery', 'optimization', 'learning',
    'coordination', 'prediction', 'code-pattern', 'workflow'
  )),
  condition TEXT NOT NULL,
  action TEXT NOT NULL,
  description TEXT,
  confidence REAL DEFAULT 0.5,
  success_count INTEGER DEFAULT 0,
  failure_count INTEGER DEFAULT 0,
  decay_rate REAL DEFAULT 0.01,
  half_life_days INTEGER DEFAULT 30,
  embedding TEXT,
  embedding_dimensions INTEGER,
  version INTEGER DEFAULT 1,
  parent_id TEXT REFERENCES patterns(id),
  tags TEXT,
  metadata TEXT,
  source TEXT,
  created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now') * 1000),
  updated_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now') * 1000),
  last_matched_at INTEGER,
  last_success_at INTEGER,
  last_failure_at INTEGER,
  status TEXT DEFAULT 'active' CHECK(status IN ('active', 'archived', 'deprecated', 'experimental'))
);
CREATE TABLE IF NOT EXISTS trajectories (
  id TEXT PRIMARY KEY,
  session_id TEXT,
  status TEXT DEFAULT 'active' CHECK(status IN ('active', 'completed', 'failed', 'abandoned')),
  verdict TEXT CHECK(verdict IN ('success', 'failure', 'partial', NULL)),
  task TEXT,
  context TEXT,
  total_steps INTEGER DEFAULT 0,
  total_reward REAL DEFAULT 0,
  started_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now') * 1000),
  ended_at INTEGER,
  extracted_pattern_id TEXT REFERENCES patterns(id)
);
CREATE TABLE IF NOT EXISTS metadata (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER DEFAULT (strftime('%s', 'now') * 1000)
);`;

/**
 * Verbatim from agentdb@3.0.0-alpha.20 (the AgentDB claude-flow 3.43 installs into the same
 * file): dist/src/controllers/ReasoningBank.js (reasoning_patterns, pattern_embeddings) and
 * dist/schemas/schema.sql (episodes, episode_embeddings).
 */
export const AGENTDB_REASONING_DDL = `
      CREATE TABLE IF NOT EXISTS reasoning_patterns (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts INTEGER DEFAULT (strftime('%s', 'now')),
        task_type TEXT NOT NULL,
        approach TEXT NOT NULL,
        success_rate REAL NOT NULL DEFAULT 0.0,
        uses INTEGER DEFAULT 0,
        avg_reward REAL DEFAULT 0.0,
        tags TEXT,
        metadata TEXT
      );
      CREATE TABLE IF NOT EXISTS pattern_embeddings (
        pattern_id INTEGER PRIMARY KEY,
        embedding BLOB NOT NULL,
        FOREIGN KEY (pattern_id) REFERENCES reasoning_patterns(id) ON DELETE CASCADE
      );
CREATE TABLE IF NOT EXISTS episodes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  ts INTEGER NOT NULL DEFAULT (strftime('%s', 'now')),
  session_id TEXT NOT NULL,
  task TEXT NOT NULL,
  input TEXT,
  output TEXT,
  critique TEXT,
  reward REAL DEFAULT 0.0,
  success BOOLEAN DEFAULT 0,
  latency_ms INTEGER,
  tokens_used INTEGER,
  tags TEXT, -- JSON array of tags
  metadata JSON,
  created_at INTEGER NOT NULL DEFAULT (strftime('%s', 'now'))
);
CREATE TABLE IF NOT EXISTS episode_embeddings (
  episode_id INTEGER PRIMARY KEY,
  embedding BLOB NOT NULL, -- Float32Array as BLOB
  embedding_model TEXT DEFAULT 'all-MiniLM-L6-v2',
  FOREIGN KEY(episode_id) REFERENCES episodes(id) ON DELETE CASCADE
);`;

export interface SwarmFixture {
  path: string;
  entries: Array<{ id: string; key: string; content: string; createdAt: number; embedding: number[] }>;
  reasoning: { id: number; approach: string; ts: number; embedding: Float32Array };
  episode: { id: number; task: string; critique: string; embedding: Float32Array };
  pattern: { id: string; name: string; condition: string; action: string; createdAt: number };
}

/**
 * `.swarm/memory.db` as claude-flow 3.43 leaves it: WAL mode, memory entries written by
 * `claude-flow memory store` (its INSERT: id `entry_<ms>_<hex>`, the memory in content, the
 * embedding as JSON text with its model label and dimension, Date.now() milliseconds), a
 * pattern and a trajectory, and ReasoningBank rows (reasoning_patterns + a Float32 embedding,
 * an episode + its embedding) as AgentDB stores them (ts in seconds).
 */
export function writeClaudeFlowSwarmDb(path: string, now = Date.UTC(2026, 1, 12, 8, 30, 0, 123)): SwarmFixture {
  mkdirSync(dirname(path), { recursive: true });
  const db = new Sqlite(path);
  db.pragma('journal_mode = WAL');
  db.exec(CLAUDE_FLOW_V3_DDL);
  db.exec(AGENTDB_REASONING_DDL);
  const toJson = (v: Float32Array) => Array.from(v);
  const entries = [
    { id: `entry_${now}_3f6aee18ca1308c1`, key: 'api/auth', content: JSON.stringify({ agent: 'coder', decision: 'use JWT with refresh token rotation' }), createdAt: now, embedding: toJson(unitVector(1)) },
    { id: `entry_${now + 1807}_827a7e7364008141`, key: 'notes/retry', content: 'Retry flaky network tests with jitter and a bounded budget', createdAt: now + 1807, embedding: toJson(unitVector(2)) },
  ];
  // memory-initializer.js storeEntry (upsert)
  const insert = db.prepare(`INSERT OR REPLACE INTO memory_entries (
            id, key, namespace, content, type,
            embedding, embedding_dimensions, embedding_model,
            tags, metadata, provenance_type, created_at, updated_at, expires_at, status
          ) VALUES (?, ?, ?, ?, 'semantic', ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active')`);
  for (const e of entries) insert.run(e.id, e.key, 'default', e.content, JSON.stringify(e.embedding), 384, 'Xenova/all-MiniLM-L6-v2', JSON.stringify(['auth']), '{}', 'unknown', e.createdAt, e.createdAt, null);
  const pattern = { id: 'pat-retry-backoff', name: 'retry with backoff', condition: 'a network call fails with ECONNRESET', action: 'retry up to 3 times with exponential backoff', createdAt: now - 60_000 };
  db.prepare(`INSERT INTO patterns (id, name, pattern_type, condition, action, description, confidence, created_at, updated_at) VALUES (?, ?, 'error-recovery', ?, ?, 'recover from transient network errors', 0.7, ?, ?)`).run(pattern.id, pattern.name, pattern.condition, pattern.action, pattern.createdAt, pattern.createdAt);
  db.prepare(`INSERT INTO trajectories (id, session_id, status, verdict, task, context, total_steps, total_reward, started_at, ended_at) VALUES ('traj-1', 'sess-1', 'completed', 'success', 'migrate the auth module to JWT', '{"files":["src/auth.ts"]}', 4, 3.5, ?, ?)`).run(now - 120_000, now - 30_000);
  // ReasoningBank.storePattern: reasoning_patterns row, then the Float32 embedding
  const ts = Math.floor(now / 1000) - 3600;
  const approach = 'Split the flaky suite and rerun only the failed shard';
  const rp = db.prepare(`INSERT INTO reasoning_patterns (ts, task_type, approach, success_rate, uses, avg_reward, tags, metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(ts, 'ci-stabilisation', approach, 0.83, 6, 0.71, JSON.stringify(['ci', 'flaky']), JSON.stringify({ source: 'distill' }));
  const reasoning = { id: Number(rp.lastInsertRowid), approach, ts, embedding: unitVector(3) };
  db.prepare('INSERT INTO pattern_embeddings (pattern_id, embedding) VALUES (?, ?)').run(reasoning.id, Buffer.from(reasoning.embedding.buffer));
  const critique = 'Should have checked the clock skew first';
  const ep = db.prepare(`INSERT INTO episodes (ts, session_id, task, input, output, critique, reward, success, latency_ms, tokens_used, tags, metadata, created_at) VALUES (?, 'sess-9', 'debug the failing login test', 'login.test.ts fails at 23:59', 'fake the timer', ?, 0.6, 1, 5000, 812, '["debug"]', '{}', ?)`).run(ts, critique, ts);
  const episode = { id: Number(ep.lastInsertRowid), task: 'debug the failing login test', critique, embedding: unitVector(4) };
  db.prepare('INSERT INTO episode_embeddings (episode_id, embedding) VALUES (?, ?)').run(episode.id, Buffer.from(episode.embedding.buffer));
  db.close();
  return { path, entries, reasoning, episode, pattern };
}

// ---------------------------------------------------------------------------------------------
// JSON sources

/** `.claude-flow/memory/store.json` as claude-flow 3.x writes it: createdAt, JSON documents inside string values. */
export function writeClaudeFlowStore(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const doc = {
    version: '3.0.0',
    entries: {
      'swarm/coder/decision': {
        key: 'swarm/coder/decision',
        value: JSON.stringify({ agent: 'coder', decision: 'cache the schema between runs' }),
        namespace: 'swarm',
        metadata: {},
        createdAt: '2026-02-12T08:00:00.000Z',
        accessCount: 2,
        lastAccessed: '2026-02-12T09:00:00.000Z',
      },
      'notes/plain': { key: 'notes/plain', value: 'plain words stay words', namespace: 'notes', createdAt: '2026-02-12T08:05:00.000Z', accessCount: 0, lastAccessed: '2026-02-12T08:05:00.000Z' },
    },
  };
  writeFileSync(path, JSON.stringify(doc, null, 2));
}

// ---------------------------------------------------------------------------------------------
// ruvector: v2/data/ruvector-patterns.db (@ruvector/core VectorDb, redb)

const RUVECTOR_WRITER = `
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', async () => {
  try {
    const job = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    const { VectorDb } = require(job.corePath);
    const db = new VectorDb({ dimensions: job.dimensions, storagePath: job.path, distanceMetric: 'Cosine', hnswConfig: { m: 32, efConstruction: 200, efSearch: 100 } });
    for (let i = 0; i < job.entries.length; i += 250) {
      await db.insertBatch(job.entries.slice(i, i + 250).map((e) => (e.metadata === undefined ? { id: e.id, vector: Float32Array.from(e.vector) } : { id: e.id, vector: Float32Array.from(e.vector), metadata: e.metadata })));
    }
    process.stdout.write(JSON.stringify({ count: await db.len() }));
    process.exit(0);
  } catch (err) { process.stderr.write(String((err && err.stack) || err)); process.exit(1); }
});`;

export interface RuvectorEntry {
  id: string;
  vector: number[];
  metadata?: string;
}

/**
 * A VectorDb file written by @ruvector/core itself (in a child process: the binding has no close()
 * and keeps its redb file locked while the process lives), with HNSW settings as ruvector sets them.
 */
export async function writeRuvectorStore(path: string, entries: readonly RuvectorEntry[], dimensions = 384): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const corePath = createRequire(import.meta.url).resolve('@ruvector/core');
  const { spawn } = await import('node:child_process');
  const out = await new Promise<string>((resolveOut, reject) => {
    const child = spawn(process.execPath, ['-e', RUVECTOR_WRITER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolveOut(stdout) : reject(new Error(`ruvector writer exited ${code}: ${stderr}`))));
    child.stdin.end(JSON.stringify({ corePath, path, dimensions, entries }));
  });
  const count = (JSON.parse(out) as { count: number }).count;
  if (count !== entries.length) throw new Error(`wrote ${entries.length} vectors, the store holds ${count}`);
}

/** `n` entries with distinct ids, unit vectors and (mostly) JSON metadata. */
export function ruvectorEntries(n: number, dimensions = 384): RuvectorEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const e: RuvectorEntry = { id: `pattern-${1767261600000 + i * 7919}-${(i * 2654435761 >>> 0).toString(16)}`, vector: Array.from(unitVector(i + 11, dimensions)) };
    if (i % 11 !== 10) e.metadata = JSON.stringify({ type: 'test-template', content: `pattern number ${i} about retry and backoff`, usageCount: i % 30 });
    return e;
  });
}
