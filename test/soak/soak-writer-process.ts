// Child process of the soak (soak.ts): a tool that keeps learning in one of the workspace's SQLite
// sources. Every transaction inserts one numbered marker row and, at random, updates an earlier
// marker, deletes an old one, and updates the tool's own rows (patterns, Q-values), the way the
// agents do, always in ways the conflict policy must carry to the cloud unchanged (timestamps and
// confidence never go backwards). Protocol on stdout, one line each: `c <marker> <epoch ms>` after
// each commit (the first one says it is running), `stopped <json WriterCounts>` on a clean stop, or
// `error <message>` before exiting 1. Stop: a `stop` line on stdin, SIGTERM, or stdin closing.
import Database from 'better-sqlite3';

/** Which source the writer commits to. */
export type SoakWriterKind = 'v3-memory' | 'root-memory';

export interface SoakWriterConfig {
  kind: SoakWriterKind;
  dbPath: string;
  commitsPerSecond: number;
  /** Seed of the writer's choices (which rows it updates and deletes). */
  seed: number;
}

/** What a writer committed (the `stopped` line). */
export interface WriterCounts {
  commits: number;
  inserts: number;
  updates: number;
  deletes: number;
  /** The first and the last marker this writer inserted (0 when none). */
  firstMarker: number;
  lastMarker: number;
}

/** Markers this recent are never deleted: the newest one must reach the cloud (it measures the lag). */
const KEEP_NEWEST = 20;
const pad9 = (n: number) => String(n).padStart(9, '0');

/** Where a writer kind puts its markers and which of the tool's own rows it updates. */
interface Plan {
  /** Creates the statements; `marker` → the row's key. */
  prepare(db: Database.Database): {
    maxMarker(): number;
    insertMarker(marker: number, at: number): void;
    updateMarker(marker: number, rev: number): void;
    deleteMarker(marker: number): void;
    /** Updates one of the tool's rows picked by `pick` (0 ≤ pick < 1); returns false when none. */
    updateToolRow(pick: number): boolean;
    /** Inserts an immutable row (event) or does nothing; returns whether it wrote. */
    appendImmutable(marker: number, at: number): boolean;
  };
}

const PLANS: Record<SoakWriterKind, Plan> = {
  // agentic-qe 3.x (WAL): markers in kv_store (→ aqe.kv_entries); learning in qe_patterns and rl_q_values.
  'v3-memory': {
    prepare(db) {
      const max = db.prepare(`SELECT MAX(key) AS k FROM kv_store WHERE namespace = 'soak'`);
      const ins = db.prepare(`INSERT INTO kv_store (namespace, key, value, expires_at, created_at) VALUES ('soak', ?, ?, NULL, ?)`);
      const upd = db.prepare(`UPDATE kv_store SET value = ? WHERE namespace = 'soak' AND key = ?`);
      const del = db.prepare(`DELETE FROM kv_store WHERE namespace = 'soak' AND key = ?`);
      const patternIds = (db.prepare('SELECT id FROM qe_patterns ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
      const qIds = (db.prepare('SELECT id FROM rl_q_values ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
      // confidence never decreases and updated_at never goes back: the stored row must always lose
      const bumpPattern = db.prepare(
        `UPDATE qe_patterns SET usage_count = usage_count + 1, successful_uses = successful_uses + 1,
           confidence = MIN(1.0, COALESCE(confidence, 0.5) + 0.001), updated_at = datetime('now'),
           last_used_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`,
      );
      const bumpQ = db.prepare(`UPDATE rl_q_values SET q_value = q_value * 0.9 + 0.1, visits = visits + 1, last_reward = 0.1, updated_at = datetime('now') WHERE id = ?`);
      return {
        maxMarker: () => {
          const k = (max.get() as { k: string | null }).k;
          return k === null ? 0 : Number(k.slice('marker-'.length));
        },
        insertMarker: (m, at) => void ins.run(`marker-${pad9(m)}`, JSON.stringify({ marker: m, rev: 0, committedBy: 'soak' }), at),
        updateMarker: (m, rev) => void upd.run(JSON.stringify({ marker: m, rev, committedBy: 'soak' }), `marker-${pad9(m)}`),
        deleteMarker: (m) => void del.run(`marker-${pad9(m)}`),
        updateToolRow: (pick) => {
          const usePattern = pick < 0.6 || qIds.length === 0;
          const ids = usePattern ? patternIds : qIds;
          const id = ids[Math.floor(((usePattern ? pick / 0.6 : (pick - 0.6) / 0.4) * ids.length) % Math.max(1, ids.length))];
          if (id === undefined) return false;
          return (usePattern ? bumpPattern : bumpQ).run(id).changes > 0;
        },
        appendImmutable: () => false,
      };
    },
  },
  // agentic-qe 1.x/2.x (rollback journal): markers in memory_entries (→ aqe.memory_entries);
  // learning in patterns (confidence, usage_count) and new events (immutable, insert only).
  'root-memory': {
    prepare(db) {
      const max = db.prepare(`SELECT MAX(key) AS k FROM memory_entries WHERE partition = 'soak'`);
      const ins = db.prepare(`INSERT INTO memory_entries (key, partition, value, metadata, created_at, owner) VALUES (?, 'soak', ?, NULL, ?, 'soak-writer')`);
      const upd = db.prepare(`UPDATE memory_entries SET value = ? WHERE partition = 'soak' AND key = ?`);
      const del = db.prepare(`DELETE FROM memory_entries WHERE partition = 'soak' AND key = ?`);
      const patternIds = (db.prepare('SELECT id FROM patterns ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);
      const bumpPattern = db.prepare(`UPDATE patterns SET usage_count = usage_count + 1, confidence = MIN(1.0, confidence + 0.001) WHERE id = ?`);
      const event = db.prepare(`INSERT INTO events (id, type, payload, timestamp, source, ttl) VALUES (?, 'soak:learned', ?, ?, 'soak-writer', 0)`);
      return {
        maxMarker: () => {
          const k = (max.get() as { k: string | null }).k;
          return k === null ? 0 : Number(k.slice('soak:marker:'.length));
        },
        insertMarker: (m, at) => void ins.run(`soak:marker:${pad9(m)}`, JSON.stringify({ marker: m, rev: 0, note: 'soak marker' }), at),
        updateMarker: (m, rev) => void upd.run(JSON.stringify({ marker: m, rev, note: 'soak marker' }), `soak:marker:${pad9(m)}`),
        deleteMarker: (m) => void del.run(`soak:marker:${pad9(m)}`),
        updateToolRow: (pick) => {
          const id = patternIds[Math.floor(pick * patternIds.length)];
          return id !== undefined && bumpPattern.run(id).changes > 0;
        },
        appendImmutable: (m, at) => event.run(`soak-event-${pad9(m)}`, JSON.stringify({ marker: m }), at).changes > 0,
      };
    },
  },
};

/** mulberry32, as in the workspace builder: the writer's choices depend on its seed only. */
function rng(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function main(): void {
  const config = JSON.parse(process.argv[2] ?? '{}') as SoakWriterConfig;
  const plan = PLANS[config.kind];
  if (!plan) throw new Error(`unknown writer kind ${JSON.stringify(config.kind)}: expected one of ${Object.keys(PLANS).join(', ')}`);
  let stopping = false;
  const requestStop = () => {
    stopping = true;
  };
  process.on('SIGTERM', requestStop);
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => {
    if (chunk.split('\n').some((l) => l.trim() === 'stop')) requestStop();
  });
  process.stdin.on('end', requestStop);

  const db = new Database(config.dbPath);
  // A snapshot takes a shared lock for a moment (rollback-journal mode): wait rather than fail.
  db.pragma('busy_timeout = 10000');
  const ops = plan.prepare(db);
  const random = rng(config.seed);
  const counts: WriterCounts = { commits: 0, inserts: 0, updates: 0, deletes: 0, firstMarker: 0, lastMarker: 0 };
  let next = ops.maxMarker() + 1;
  // markers still present, oldest first, with their revision
  const live: Array<{ marker: number; rev: number }> = [];

  const commitOne = db.transaction((at: number) => {
    ops.insertMarker(next, at);
    counts.inserts++;
    live.push({ marker: next, rev: 0 });
    const deletable = live.length - KEEP_NEWEST;
    if (random() < 0.3 && live.length > 1) {
      const row = live[Math.floor(random() * (live.length - 1))];
      if (row) {
        row.rev++;
        ops.updateMarker(row.marker, row.rev);
        counts.updates++;
      }
    }
    if (random() < 0.12 && deletable > 0) {
      const [row] = live.splice(Math.floor(random() * deletable), 1);
      if (row) {
        ops.deleteMarker(row.marker);
        counts.deletes++;
      }
    }
    if (random() < 0.3 && ops.updateToolRow(random())) counts.updates++;
    if (random() < 0.15 && ops.appendImmutable(next, at)) counts.inserts++;
  });

  const commit = () => {
    const marker = next;
    commitOne(Date.now());
    // committed: the time a reader of the file can first see the marker
    const at = Date.now();
    next++;
    counts.commits++;
    if (counts.firstMarker === 0) counts.firstMarker = marker;
    counts.lastMarker = marker;
    say(`c ${marker} ${at}`);
  };

  const finish = () => {
    db.close();
    say(`stopped ${JSON.stringify(counts)}`);
    process.exit(0);
  };

  const started = performance.now();
  const tick = () => {
    if (stopping && counts.commits > 0) return finish();
    const due = Math.floor(((performance.now() - started) / 1000) * config.commitsPerSecond) + 1;
    while (counts.commits < due) commit();
    const nextAt = started + (counts.commits / config.commitsPerSecond) * 1000;
    setTimeout(tick, Math.max(1, nextAt - performance.now()));
  };
  tick();
}

try {
  main();
} catch (err) {
  say(`error ${String(err instanceof Error ? err.message : err).replaceAll('\n', ' ')}`);
  process.exit(1);
}
