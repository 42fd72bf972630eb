// Sample workspace, one catalogue source: .swarm/memory.db: the claude-flow variant (Unix seconds).
// Deterministic for the generator it is given (see fixture-kit.ts).
import { dirname } from 'node:path';
import { float32Blob, Rng, enc, QE_DOMAINS, AGENTS, FILES, sentence, insertAll, openFresh, mkdirSyncP, type Row, type Sizes } from './fixture-kit.js';

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

export function buildSwarmMemory(path: string, rng: Rng, n: Sizes): Record<string, number> {
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
