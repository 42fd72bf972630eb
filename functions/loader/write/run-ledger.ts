// The run ledger: every bookkeeping table of a load in one place, as dlt keeps its loads table.
// `sync_runs` (one run per delivered manifest, and the one rule for when a manifest is loaded
// again), `sync_state` (per environment, and per source file a typed entry: the newest snapshot
// that captured it and the run that merged its content), `quarantine`, and the undo log a rollback
// replays. The loader writes through it; status, rollback, reconcile and rebuild read through it.
// Bound to one Queryable: the database, or the snapshot's transaction.

import { jsonForDb, textForDb } from '../../db/db-text.js';
import type { Queryable } from '../../db/database.js';
import { quoteIdent } from '../../db/copy-encoding.js';
import { LOCK_NAMES, advisoryXactLock } from '../../db/advisory-lock.js';
import { type TableMergeCounts, addCounts, emptyCounts } from './merge-table-rows.js';
import { NO_FUTURE_BOUND } from '../policy/snapshot-clock.js';
import { AppError } from '../../../schema/errors.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'quarantined' | 'rolled_back';

/**
 * The one retry rule: a manifest whose run failed or was rolled back is loaded (again) when it is
 * delivered; any other run acknowledges the delivery without work (events arrive at least once).
 */
export function needsLoad(run: Pick<SyncRun, 'status'> | null): boolean {
  return run === null || run.status === 'failed' || run.status === 'rolled_back';
}

/** Statuses after which nothing more happens to a run by itself (retention may delete its manifest). */
export function isSettled(status: RunStatus): boolean {
  return status === 'succeeded' || status === 'quarantined' || status === 'rolled_back';
}

export interface SyncRun {
  id: number;
  manifestSha: string;
  env: string;
  snapshotId: string;
  manifestKey: string;
  snapshotCreatedAt: Date | null;
  /** When the store created the manifest (the order of snapshots); null for runs before migration 024. */
  orderedAt: Date | null;
  status: RunStatus;
  rowsRead: number;
  rowsInserted: number;
  rowsUpdated: number;
  rowsUnchanged: number;
  rowsKeptNewer: number;
  rowsMissing: number;
  rowsQuarantined: number;
  tableCounts: Record<string, TableMergeCounts>;
  warnings: unknown[];
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
  error: string | null;
}

export interface RunIdentity {
  manifestSha: string;
  env: string;
  snapshotId: string;
  manifestKey: string;
  /** What the manifest claims (its createdAt): informational. */
  snapshotCreatedAt: Date | null;
  /** The store's creation time of the manifest: what orders snapshots. */
  orderedAt?: Date | null;
}

/**
 * What sync_state keeps per source file (by workspace-relative path). Every field is optional: an
 * entry written before a field existed lacks it, and is treated as "unknown" for that field.
 */
export interface SourceState {
  sourceId?: string;
  sha256?: string;
  capturedAt?: string;
  /** The run that last read and merged this file's content. */
  runId?: number;
  /** Order time (the store's creation time of the manifest) of the newest snapshot that captured this file. */
  snapshotAt?: string;
  /** The run that last wrote this entry (a rollback of that run restores the entry it replaced). */
  stateRunId?: number;
  /** MAPPING_VERSION the rows were mapped with. */
  mappingVersion?: number;
  /** Rows read per target table by `runId`. */
  tables?: Record<string, number>;
}

/** Per source path, the entry of sync_state.sources. */
export type SourceStates = Record<string, SourceState>;

/** A stored per-source entry, typed (a field of the wrong type counts as absent). */
export function toSourceState(value: unknown): SourceState {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const v = value as Record<string, unknown>;
  const out: SourceState = {};
  if (typeof v['sourceId'] === 'string') out.sourceId = v['sourceId'];
  if (typeof v['sha256'] === 'string') out.sha256 = v['sha256'];
  if (typeof v['capturedAt'] === 'string') out.capturedAt = v['capturedAt'];
  if (typeof v['runId'] === 'number') out.runId = v['runId'];
  if (typeof v['snapshotAt'] === 'string') out.snapshotAt = v['snapshotAt'];
  if (typeof v['stateRunId'] === 'number') out.stateRunId = v['stateRunId'];
  if (typeof v['mappingVersion'] === 'number') out.mappingVersion = v['mappingVersion'];
  const tables = v['tables'];
  if (tables !== null && typeof tables === 'object' && !Array.isArray(tables)) {
    const t: Record<string, number> = {};
    for (const [k, n] of Object.entries(tables as Record<string, unknown>)) if (typeof n === 'number') t[k] = n;
    out.tables = t;
  }
  return out;
}

function toSourceStates(value: unknown): SourceStates {
  const out: SourceStates = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [path, entry] of Object.entries(value as Record<string, unknown>)) out[path] = toSourceState(entry);
  return out;
}

export interface FinishRunInput {
  status: Exclude<RunStatus, 'running'>;
  /** Counts per table (or per source/table: any key); run totals are their sum. */
  tables: Record<string, TableMergeCounts>;
  warnings?: unknown[];
  rowsQuarantined?: number;
  error?: string | null;
  /**
   * The sync_state entries this run replaced, as they were before it (null: the entry did not
   * exist): what a rollback restores.
   */
  stateBefore?: StateBefore;
}

/** What a run changed in sync_state, as it was before the run. */
export interface StateBefore {
  sources: Record<string, SourceState | null>;
}

export interface SyncStateInput {
  snapshotId: string;
  /** The snapshot's order time (the store's creation time of its manifest). */
  snapshotAt: Date;
  /** Recorded times after this are from a clock that ran ahead: any snapshot replaces them (snapshot-clock.ts). */
  futureBound?: Date;
  runId: number;
  success: boolean;
  /** Per-source entries merged into sync_state.sources (keys replace). */
  sources?: SourceStates;
}

export interface QuarantineInput {
  env: string;
  snapshotId?: string | null;
  manifestKey: string;
  manifestSha?: string | null;
  code: string;
  reason: string;
  transient: boolean;
  report?: Record<string, unknown>;
}

/** An open (unresolved) quarantine row. */
export interface OpenQuarantine {
  id: number;
  env: string;
  snapshotId: string | null;
  manifestKey: string;
  code: string;
  reason: string;
  transient: boolean;
  quarantinedAt: Date;
  retryCount: number;
}

/** The per-environment row of sync_state, without the per-source entries. */
export interface EnvironmentState {
  env: string;
  lastSnapshotId: string | null;
  lastSnapshotAt: Date | null;
  lastSuccessAt: Date | null;
}

/** Where `begin` left a delivered manifest. */
export type BeginResult = { status: 'begun'; runId: number } | { status: 'done'; run: SyncRun };

/** A run a rollback may undo. */
export interface RollbackCandidate {
  id: number;
  env: string;
  status: RunStatus;
  snapshotId: string;
  manifestKey: string;
  startedAt: string;
}

const RUN_SELECT = `SELECT id, manifest_sha, env, snapshot_id, manifest_key, snapshot_created_at, ordered_at, status, rows_read, rows_inserted,
  rows_updated, rows_unchanged, rows_kept_newer, rows_missing, rows_quarantined, table_counts, warnings, started_at, finished_at,
  duration_ms, error FROM aqe.sync_runs`;

type Row = Record<string, unknown>;
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const date = (v: unknown): Date | null => (v === null || v === undefined ? null : v instanceof Date ? v : new Date(String(v)));

function toRun(r: Row): SyncRun {
  return {
    id: num(r['id']),
    manifestSha: String(r['manifest_sha']),
    env: String(r['env']),
    snapshotId: String(r['snapshot_id']),
    manifestKey: String(r['manifest_key']),
    snapshotCreatedAt: date(r['snapshot_created_at']),
    orderedAt: date(r['ordered_at']),
    status: r['status'] as RunStatus,
    rowsRead: num(r['rows_read']),
    rowsInserted: num(r['rows_inserted']),
    rowsUpdated: num(r['rows_updated']),
    rowsUnchanged: num(r['rows_unchanged']),
    rowsKeptNewer: num(r['rows_kept_newer']),
    rowsMissing: num(r['rows_missing']),
    rowsQuarantined: num(r['rows_quarantined']),
    tableCounts: (r['table_counts'] as Record<string, TableMergeCounts> | null) ?? {},
    warnings: (r['warnings'] as unknown[] | null) ?? [],
    startedAt: date(r['started_at']) as Date,
    finishedAt: date(r['finished_at']),
    durationMs: r['duration_ms'] === null || r['duration_ms'] === undefined ? null : Number(r['duration_ms']),
    error: (r['error'] as string | null) ?? null,
  };
}

/** Sums per-table counts into run totals. */
export function totalCounts(tables: Record<string, TableMergeCounts>): TableMergeCounts {
  return Object.values(tables).reduce(addCounts, emptyCounts());
}

/**
 * The bookkeeping of loads, on one Queryable (pass the snapshot's transaction to write inside it).
 * @example const ledger = new RunLedger(db); const run = await ledger.find(manifestSha); if (needsLoad(run)) …
 */
export class RunLedger {
  constructor(private readonly q: Queryable) {}

  // ---- runs -------------------------------------------------------------------------------------

  /** The run of this manifest, if any. */
  async find(manifestSha: string): Promise<SyncRun | null> {
    const row = (await this.q.query<Row>(`${RUN_SELECT} WHERE manifest_sha = $1`, [manifestSha])).rows[0];
    return row ? toRun(row) : null;
  }

  async findById(id: number): Promise<SyncRun | null> {
    const row = (await this.q.query<Row>(`${RUN_SELECT} WHERE id = $1`, [String(id)])).rows[0];
    return row ? toRun(row) : null;
  }

  /**
   * Serialises loads of one environment: blocks until this transaction holds the environment's
   * advisory lock (released at COMMIT/ROLLBACK). Take it first in the snapshot's transaction.
   */
  async lockEnvironment(env: string): Promise<void> {
    await advisoryXactLock(this.q, LOCK_NAMES.environment(env));
  }

  /**
   * Starts the run of a delivered manifest (status `running`), under lockEnvironment, by the one
   * retry rule (needsLoad): a manifest already done is `done`; a failed attempt makes way for a
   * new run (a new, higher id: ids order runs, and rollback relies on that order); a rolled-back
   * run stays as history (its undo log refers to it) and its sha steps aside for the new run.
   */
  async begin(run: RunIdentity): Promise<BeginResult> {
    const existing = await this.find(run.manifestSha);
    if (existing && !needsLoad(existing)) return { status: 'done', run: existing };
    if (existing?.status === 'failed') await this.q.query('DELETE FROM aqe.sync_runs WHERE id = $1 AND status = $2', [String(existing.id), 'failed']);
    if (existing?.status === 'rolled_back') {
      await this.q.query(`UPDATE aqe.sync_runs SET manifest_sha = manifest_sha || '#rolled-back-' || id WHERE id = $1 AND status = 'rolled_back'`, [String(existing.id)]);
    }
    const res = await this.q.query<{ id: number }>(
      `INSERT INTO aqe.sync_runs (manifest_sha, env, snapshot_id, manifest_key, snapshot_created_at, ordered_at, status)
       VALUES ($1, $2, $3, $4, $5, $6, 'running')
       ON CONFLICT (manifest_sha) DO NOTHING
       RETURNING id`,
      [run.manifestSha, run.env, run.snapshotId, run.manifestKey, run.snapshotCreatedAt, run.orderedAt ?? null],
    );
    const id = res.rows[0]?.id;
    if (id === undefined) {
      // only without lockEnvironment: another loader inserted the run between the find and here
      const other = await this.find(run.manifestSha);
      throw new AppError('DB_CONFLICT', `manifest ${run.manifestKey} (sha256 ${run.manifestSha.slice(0, 12)}…) already has run ${other?.id ?? '?'} with status ${other?.status ?? '?'}: take lockEnvironment before begin`, {
        transient: true,
        details: { runId: other?.id, status: other?.status },
      });
    }
    return { status: 'begun', runId: Number(id) };
  }

  /** Closes the run record with its status, counts, warnings, duration and the state it replaced. */
  async finish(runId: number, input: FinishRunInput): Promise<void> {
    const t = totalCounts(input.tables);
    const res = await this.q.query(
      `UPDATE aqe.sync_runs SET status = $2, rows_read = $3, rows_inserted = $4, rows_updated = $5, rows_unchanged = $6,
         rows_kept_newer = $7, rows_missing = $8, rows_quarantined = $9, table_counts = $10::jsonb, warnings = $11::jsonb,
         finished_at = clock_timestamp(), duration_ms = round(extract(epoch FROM clock_timestamp() - started_at) * 1000), error = $12,
         state_before = $13::jsonb
       WHERE id = $1`,
      [
        String(runId),
        input.status,
        t.read,
        t.inserted,
        t.updated,
        t.unchanged,
        t.keptNewer,
        t.missing,
        input.rowsQuarantined ?? 0,
        jsonForDb(input.tables),
        jsonForDb(input.warnings ?? []),
        input.error === undefined || input.error === null ? null : textForDb(input.error),
        input.stateBefore === undefined ? null : jsonForDb(input.stateBefore),
      ],
    );
    if (res.rowCount !== 1) throw new AppError('INTERNAL', `finish: no sync_runs row with id ${runId}`);
  }

  /**
   * Records a load that failed outside its (rolled back) transaction: `failed` (a redelivery
   * loads it again) or `quarantined` (redeliveries are acknowledged). Returns the run id. Throws
   * when it cannot be recorded: a failure to record a failure is never dropped.
   */
  async recordFailure(run: RunIdentity & { status: 'failed' | 'quarantined'; error: string }): Promise<number> {
    const res = await this.q.query<{ id: number }>(
      `INSERT INTO aqe.sync_runs (manifest_sha, env, snapshot_id, manifest_key, snapshot_created_at, status, error, finished_at, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp(), 0)
       ON CONFLICT (manifest_sha) DO UPDATE SET status = EXCLUDED.status, error = EXCLUDED.error, finished_at = clock_timestamp()
       WHERE aqe.sync_runs.status IN ('running', 'failed', 'quarantined')
       RETURNING id`,
      [run.manifestSha, run.env, run.snapshotId, run.manifestKey, run.snapshotCreatedAt, run.status, textForDb(run.error)],
    );
    const id = res.rows[0]?.id;
    if (id !== undefined) return Number(id);
    // a succeeded (or rolled back) run of the same manifest stays as it is
    return (await this.find(run.manifestSha))?.id ?? 0;
  }

  /** Makes a quarantined manifest loadable again (reconcile's retry of a transient quarantine). */
  async markRetryable(manifestKey: string): Promise<void> {
    await this.q.query(`UPDATE aqe.sync_runs SET status = 'failed' WHERE manifest_key = $1 AND status = 'quarantined'`, [manifestKey]);
  }

  /** Every run, oldest first (reconcile's planner input). */
  async runs(): Promise<SyncRun[]> {
    return (await this.q.query<Row>(`${RUN_SELECT} ORDER BY id`)).rows.map(toRun);
  }

  /** Runs started after `since`, newest first (optionally of one environment). */
  async runsSince(since: Date, env?: string): Promise<SyncRun[]> {
    const res = await this.q.query<Row>(`${RUN_SELECT} WHERE started_at > $2::timestamptz AND ($1::text IS NULL OR env = $1) ORDER BY started_at DESC, id DESC`, [env ?? null, since]);
    return res.rows.map(toRun);
  }

  /** Environments with at least one run (any outcome), sorted (optionally only `env`). */
  async environments(env?: string): Promise<string[]> {
    const res = await this.q.query<{ env: string }>('SELECT DISTINCT env FROM aqe.sync_runs WHERE ($1::text IS NULL OR env = $1) ORDER BY env', [env ?? null]);
    return res.rows.map((r) => r.env);
  }

  /** Rows read by the runs that stand (succeeded). */
  async rowsRead(): Promise<number> {
    const res = await this.q.query<{ n: string | number }>(`SELECT coalesce(sum(rows_read), 0) AS n FROM aqe.sync_runs WHERE status = 'succeeded'`);
    return num(res.rows[0]?.n);
  }

  // ---- state ------------------------------------------------------------------------------------

  /** sync_state.sources of `env`: per source path, the newest snapshot loaded so far. */
  async sourceStates(env: string): Promise<SourceStates> {
    const res = await this.q.query<{ sources: unknown }>('SELECT sources FROM aqe.sync_state WHERE env = $1', [env]);
    return toSourceStates(res.rows[0]?.sources ?? null);
  }

  /**
   * Updates the environment's state; a late, older snapshot never moves last_snapshot_* backwards,
   * but a recorded time from the future (beyond `futureBound`) never holds it either.
   */
  async saveState(env: string, input: SyncStateInput): Promise<void> {
    const newer = `(s.last_snapshot_at IS NULL OR EXCLUDED.last_snapshot_at >= s.last_snapshot_at OR s.last_snapshot_at > $7::timestamptz)`;
    await this.q.query(
      `INSERT INTO aqe.sync_state AS s (env, last_snapshot_id, last_snapshot_at, last_run_id, last_success_at, sources, updated_at)
       VALUES ($1, $2, $3, $4, CASE WHEN $5::boolean THEN now() END, $6::jsonb, now())
       ON CONFLICT (env) DO UPDATE SET
         last_snapshot_id = CASE WHEN ${newer} THEN EXCLUDED.last_snapshot_id ELSE s.last_snapshot_id END,
         last_snapshot_at = CASE WHEN ${newer} THEN EXCLUDED.last_snapshot_at ELSE s.last_snapshot_at END,
         last_run_id = EXCLUDED.last_run_id,
         last_success_at = COALESCE(EXCLUDED.last_success_at, s.last_success_at),
         sources = s.sources || EXCLUDED.sources,
         updated_at = now()`,
      [env, input.snapshotId, input.snapshotAt, String(input.runId), input.success, jsonForDb(input.sources ?? {}), input.futureBound ?? NO_FUTURE_BOUND],
    );
  }

  /** The environments' states (optionally only `env`). */
  async environmentStates(env?: string): Promise<EnvironmentState[]> {
    const res = await this.q.query<Row>('SELECT env, last_snapshot_id, last_snapshot_at, last_success_at FROM aqe.sync_state WHERE ($1::text IS NULL OR env = $1) ORDER BY env', [env ?? null]);
    return res.rows.map((r) => ({
      env: String(r['env']),
      lastSnapshotId: (r['last_snapshot_id'] as string | null) ?? null,
      lastSnapshotAt: date(r['last_snapshot_at']),
      lastSuccessAt: date(r['last_success_at']),
    }));
  }

  // ---- quarantine -------------------------------------------------------------------------------

  /**
   * Records a quarantined snapshot (call on a fresh connection, outside the failed transaction).
   * The same unresolved manifest again bumps retry_count instead of adding a row.
   */
  async recordQuarantine(q: QuarantineInput): Promise<{ id: number; retryCount: number }> {
    const res = await this.q.query<{ id: number; retry_count: number }>(
      `WITH open AS (
         SELECT id FROM aqe.quarantine WHERE manifest_key = $3 AND resolved_at IS NULL ORDER BY id DESC LIMIT 1
       ), upd AS (
         UPDATE aqe.quarantine SET retry_count = retry_count + 1, code = $5, reason = $6, transient = $7, report = $8::jsonb,
           quarantined_at = now(), snapshot_id = COALESCE($2, snapshot_id), manifest_sha = COALESCE($4, manifest_sha)
         WHERE id = (SELECT id FROM open)
         RETURNING id, retry_count
       ), ins AS (
         INSERT INTO aqe.quarantine (env, snapshot_id, manifest_key, manifest_sha, code, reason, transient, report)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8::jsonb WHERE NOT EXISTS (SELECT 1 FROM open)
         RETURNING id, retry_count
       )
       SELECT id, retry_count FROM upd UNION ALL SELECT id, retry_count FROM ins`,
      [q.env, q.snapshotId ?? null, q.manifestKey, q.manifestSha ?? null, q.code, textForDb(q.reason), q.transient, jsonForDb(q.report ?? {})],
    );
    const row = res.rows[0];
    if (!row) throw new AppError('INTERNAL', 'recordQuarantine wrote no row');
    return { id: Number(row.id), retryCount: Number(row.retry_count) };
  }

  /** Unresolved quarantine rows, oldest first (optionally of one environment). */
  async openQuarantine(env?: string): Promise<OpenQuarantine[]> {
    const res = await this.q.query<Row>(
      `SELECT id, env, snapshot_id, manifest_key, code, reason, transient, quarantined_at, retry_count FROM aqe.quarantine
       WHERE resolved_at IS NULL AND ($1::text IS NULL OR env = $1) ORDER BY id`,
      [env ?? null],
    );
    return res.rows.map((r) => ({
      id: num(r['id']),
      env: String(r['env']),
      snapshotId: (r['snapshot_id'] as string | null) ?? null,
      manifestKey: String(r['manifest_key']),
      code: String(r['code']),
      reason: String(r['reason']),
      transient: r['transient'] === true,
      quarantinedAt: date(r['quarantined_at']) as Date,
      retryCount: num(r['retry_count']),
    }));
  }

  /** The manifest loaded after all: its open quarantine rows are resolved. */
  async resolveQuarantine(manifestKey: string): Promise<void> {
    await this.q.query(`UPDATE aqe.quarantine SET resolved_at = now() WHERE manifest_key = $1 AND resolved_at IS NULL`, [manifestKey]);
  }

  /** One more failed retry of a quarantined manifest (reconcile gives up after MAX_QUARANTINE_RETRIES). */
  async countQuarantineRetry(manifestKey: string): Promise<void> {
    await this.q.query(`UPDATE aqe.quarantine SET retry_count = retry_count + 1 WHERE manifest_key = $1 AND resolved_at IS NULL`, [manifestKey]);
  }

  // ---- undo (rollback) --------------------------------------------------------------------------

  /** The runs `ids` (any status, any environment: the caller checks). */
  async runsById(ids: readonly number[]): Promise<RollbackCandidate[]> {
    const res = await this.q.query<Row>('SELECT id, env, status, snapshot_id, manifest_key, started_at FROM aqe.sync_runs WHERE id = ANY($1::bigint[])', [ids.map(String)]);
    return res.rows.map(toCandidate);
  }

  /** The environment's last `n` succeeded runs, newest first. */
  async lastSucceeded(env: string, n: number): Promise<RollbackCandidate[]> {
    const res = await this.q.query<Row>(`SELECT id, env, status, snapshot_id, manifest_key, started_at FROM aqe.sync_runs WHERE env = $1 AND status = 'succeeded' ORDER BY id DESC LIMIT $2`, [env, n]);
    return res.rows.map(toCandidate);
  }

  /**
   * Later succeeded runs (not among `ids`) that changed rows the runs `ids` logged or inserted:
   * restoring the older pre-images would silently undo them.
   */
  async laterRunsTouching(ids: readonly number[], env: string, tables: readonly string[]): Promise<number[]> {
    const blocking = new Set<number>();
    const later = await this.q.query<{ run_id: string | number }>(
      `SELECT DISTINCT l.run_id FROM aqe.undo_log l
       JOIN aqe.undo_log s ON s.table_name = l.table_name AND s.source_env = l.source_env AND s.source_id = l.source_id
         AND s.source_table = l.source_table AND s.source_key = l.source_key
       JOIN aqe.sync_runs r ON r.id = l.run_id AND r.status = 'succeeded'
       WHERE s.run_id = ANY($1::bigint[]) AND l.run_id > s.run_id AND NOT (l.run_id = ANY($1::bigint[]))`,
      [ids.map(String)],
    );
    for (const r of later.rows) blocking.add(Number(r.run_id));
    for (const name of tables) {
      const t = `aqe.${quoteIdent(name)}`;
      const res = await this.q.query<{ run_id: string | number }>(
        `SELECT DISTINCT l.run_id FROM ${t} t
         JOIN aqe.undo_log l ON l.table_name = $2 AND l.source_env = t.source_env AND l.source_id = t.source_id
           AND l.source_table = t.source_table AND l.source_key = t.source_key
         JOIN aqe.sync_runs r ON r.id = l.run_id AND r.status = 'succeeded'
         WHERE t.source_env = $3 AND t.first_run_id = ANY($1::bigint[]) AND l.run_id > t.first_run_id AND NOT (l.run_id = ANY($1::bigint[]))`,
        [ids.map(String), name, env],
      );
      for (const r of res.rows) blocking.add(Number(r.run_id));
    }
    return [...blocking].sort((a, b) => a - b);
  }

  /** Target tables the run has undo entries for. */
  async loggedTables(runId: number): Promise<string[]> {
    const res = await this.q.query<{ table_name: string }>('SELECT DISTINCT table_name FROM aqe.undo_log WHERE run_id = $1 ORDER BY 1', [String(runId)]);
    return res.rows.map((r) => r.table_name);
  }

  /** Gives the rows the run updated in `table` their pre-image back (`columns`: all but the key and generated ones). */
  async restorePreImages(runId: number, table: string, columns: readonly string[]): Promise<number> {
    const t = `aqe.${quoteIdent(table)}`;
    const res = await this.q.query(
      `UPDATE ${t} t SET ${columns.map((c) => `${quoteIdent(c)} = p.${quoteIdent(c)}`).join(', ')}
       FROM (SELECT p.* FROM aqe.undo_log u CROSS JOIN LATERAL jsonb_populate_record(NULL::${t}, u.pre_image) p
             WHERE u.run_id = $1 AND u.table_name = $2 AND u.op = 'update' AND u.pre_image IS NOT NULL) p
       WHERE ${sameKey('t', 'p')}`,
      [String(runId), table],
    );
    return res.rowCount;
  }

  /** Deletes the rows the run inserted into `table` (the ones it wrote first: no undo entry is kept for an insert). */
  async deleteInserted(runId: number, env: string, table: string): Promise<number> {
    return (await this.q.query(`DELETE FROM aqe.${quoteIdent(table)} WHERE source_env = $1 AND first_run_id = $2`, [env, String(runId)])).rowCount;
  }

  /** Makes the rows the run marked missing in `table` present again. */
  async unmarkMissing(runId: number, table: string): Promise<number> {
    const res = await this.q.query(
      `UPDATE aqe.${quoteIdent(table)} t SET missing_since = NULL FROM aqe.undo_log u
       WHERE u.run_id = $1 AND u.table_name = $2 AND u.op = 'missing' AND t.missing_since IS NOT NULL AND ${sameKey('t', 'u')}`,
      [String(runId), table],
    );
    return res.rowCount;
  }

  /** Marks the runs rolled back and gives the environment's state back what they replaced. */
  async markRolledBack(env: string, ids: readonly number[]): Promise<void> {
    await this.q.query(`UPDATE aqe.sync_runs SET status = 'rolled_back' WHERE id = ANY($1::bigint[])`, [ids.map(String)]);
    await this.restoreState(env, ids);
  }

  /**
   * The environment's sync_state as it was before the rolled-back runs: each per-source entry a run
   * wrote goes back to the entry it replaced (newest run first, so a chain of runs unwinds in
   * order), and the last snapshot / last run become the newest run still standing. Without this, a
   * later load compared itself with the rolled-back snapshot's time (found itself late: every row
   * it inserted was born missing) and skipped sources as unchanged since a run that no longer stands.
   */
  private async restoreState(env: string, ids: readonly number[]): Promise<void> {
    const sources = await this.sourceStates(env);
    const runs = await this.q.query<{ id: string | number; state_before: { sources?: Record<string, unknown> } | null }>(
      'SELECT id, state_before FROM aqe.sync_runs WHERE id = ANY($1::bigint[]) ORDER BY id DESC',
      [ids.map(String)],
    );
    for (const run of runs.rows) {
      const id = Number(run.id);
      for (const [path, previous] of Object.entries(run.state_before?.sources ?? {})) {
        if (sources[path]?.stateRunId !== id) continue; // a later run standing wrote it since
        if (previous === null) delete sources[path];
        else sources[path] = toSourceState(previous);
      }
    }
    await this.q.query(
      `UPDATE aqe.sync_state s SET sources = $2::jsonb,
         last_run_id = (SELECT max(id) FROM aqe.sync_runs r WHERE r.env = s.env AND r.status = 'succeeded'),
         last_snapshot_id = (SELECT r.snapshot_id FROM aqe.sync_runs r WHERE r.env = s.env AND r.status = 'succeeded' ORDER BY coalesce(r.ordered_at, r.started_at) DESC, r.id DESC LIMIT 1),
         last_snapshot_at = (SELECT coalesce(r.ordered_at, r.started_at) FROM aqe.sync_runs r WHERE r.env = s.env AND r.status = 'succeeded' ORDER BY coalesce(r.ordered_at, r.started_at) DESC, r.id DESC LIMIT 1),
         updated_at = now()
       WHERE s.env = $1`,
      [env, jsonForDb(sources)],
    );
  }
}

function sameKey(a: string, b: string): string {
  return `${a}.source_env = ${b}.source_env AND ${a}.source_id = ${b}.source_id AND ${a}.source_table = ${b}.source_table AND ${a}.source_key = ${b}.source_key`;
}

function toCandidate(r: Row): RollbackCandidate {
  return {
    id: num(r['id']),
    env: String(r['env']),
    status: r['status'] as RunStatus,
    snapshotId: String(r['snapshot_id']),
    manifestKey: String(r['manifest_key']),
    startedAt: r['started_at'] instanceof Date ? r['started_at'].toISOString() : String(r['started_at']),
  };
}
