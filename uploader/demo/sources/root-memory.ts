// Sample workspace, one catalogue source: .agentic-qe/memory.db: agentic-qe 1.x/2.x (rollback journal).
// Deterministic for the generator it is given (see fixture-kit.ts).
import { dirname } from 'node:path';
import { BASE_S, Rng, enc, PATTERN_TYPES, AGENTS, WORDS, sentence, insertAll, openFresh, mkdirSyncP, type Row, type Sizes } from './fixture-kit.js';

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

export function buildRootMemory(path: string, rng: Rng, n: Sizes): Record<string, number> {
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
