// Sample workspace, one catalogue source: v3/.agentic-qe/memory.db: agentic-qe 3.x (WAL, held open on request), its tables at the plan's volumes.
// Deterministic for the generator it is given (see fixture-kit.ts).
import { dirname, join } from 'node:path';
import type Database from 'better-sqlite3';
import { BASE_S, float32Blob, sourcePath, Rng, enc, QE_DOMAINS, PATTERN_TYPES, AGENTS, WORDS, FILES, sentence, insertAll, openFresh, mkdirSyncP, type Row, type Sizes } from './fixture-kit.js';

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

export interface V3Result {
  counts: Record<string, number>;
  tail: Record<string, number>;
  held: Database.Database | undefined;
}

export function buildV3Memory(root: string, rng: Rng, n: Sizes, holdWal: boolean): V3Result {
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
