// Run bookkeeping around a snapshot load: the per-environment lock, the run record (sync_runs),
// the per-environment state (sync_state) and the quarantine table.
import { jsonForDb, textForDb } from '../../db/db-text.js';
import type { Queryable } from '../../db/database.js';
import { LOCK_NAMES, advisoryXactLock } from '../../db/advisory-lock.js';
import { type TableMergeCounts, addCounts, emptyCounts } from './merge-table-rows.js';
import { NO_FUTURE_BOUND } from '../snapshot-clock.js';
import { AppError } from '../../../schema/errors.js';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'quarantined' | 'rolled_back';

export interface SyncRun {
  id: number;
  manifestSha: string;
  env: string;
  snapshotId: string;
  manifestKey: string;
  snapshotCreatedAt: Date | null;
  /** When the store created the manifest (the order of snapshots); null for runs before migration 015. */
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
 * Serialises loads of one environment: blocks until this transaction holds the environment's
 * advisory lock (released at COMMIT/ROLLBACK). Take it first in the snapshot's transaction.
 */
export async function lockEnvironment(tx: Queryable, env: string): Promise<void> {
  await advisoryXactLock(tx, LOCK_NAMES.environment(env));
}

const RUN_SELECT = `SELECT id, manifest_sha, env, snapshot_id, manifest_key, snapshot_created_at, ordered_at, status, rows_read, rows_inserted,
  rows_updated, rows_unchanged, rows_kept_newer, rows_missing, rows_quarantined, table_counts, warnings, started_at, finished_at,
  duration_ms, error FROM aqe.sync_runs`;

type RunRow = Record<string, unknown>;

function toRun(r: RunRow): SyncRun {
  const n = (v: unknown) => (v === null || v === undefined ? 0 : Number(v));
  return {
    id: n(r['id']),
    manifestSha: String(r['manifest_sha']),
    env: String(r['env']),
    snapshotId: String(r['snapshot_id']),
    manifestKey: String(r['manifest_key']),
    snapshotCreatedAt: (r['snapshot_created_at'] as Date | null) ?? null,
    orderedAt: (r['ordered_at'] as Date | null) ?? null,
    status: r['status'] as RunStatus,
    rowsRead: n(r['rows_read']),
    rowsInserted: n(r['rows_inserted']),
    rowsUpdated: n(r['rows_updated']),
    rowsUnchanged: n(r['rows_unchanged']),
    rowsKeptNewer: n(r['rows_kept_newer']),
    rowsMissing: n(r['rows_missing']),
    rowsQuarantined: n(r['rows_quarantined']),
    tableCounts: (r['table_counts'] as Record<string, TableMergeCounts> | null) ?? {},
    warnings: (r['warnings'] as unknown[] | null) ?? [],
    startedAt: r['started_at'] as Date,
    finishedAt: (r['finished_at'] as Date | null) ?? null,
    durationMs: r['duration_ms'] === null || r['duration_ms'] === undefined ? null : Number(r['duration_ms']),
    error: (r['error'] as string | null) ?? null,
  };
}

/** The run of this manifest, if any (a delivered manifest already `succeeded`/`quarantined` is acknowledged without work). */
export async function findRunByManifestSha(db: Queryable, manifestSha: string): Promise<SyncRun | null> {
  const res = await db.query<RunRow>(`${RUN_SELECT} WHERE manifest_sha = $1`, [manifestSha]);
  const row = res.rows[0];
  return row ? toRun(row) : null;
}

export async function findRunById(db: Queryable, id: number): Promise<SyncRun | null> {
  const res = await db.query<RunRow>(`${RUN_SELECT} WHERE id = $1`, [String(id)]);
  const row = res.rows[0];
  return row ? toRun(row) : null;
}

/**
 * Records the start of a load (status `running`) and returns its run id. A previous `failed`
 * attempt of the same manifest is reused (retry); any other existing run is a DB_CONFLICT
 * (check findRunByManifestSha first, under lockEnvironment).
 */
export async function beginRun(tx: Queryable, run: RunIdentity): Promise<number> {
  const res = await tx.query<{ id: number }>(
    `INSERT INTO aqe.sync_runs (manifest_sha, env, snapshot_id, manifest_key, snapshot_created_at, ordered_at, status)
     VALUES ($1, $2, $3, $4, $5, $6, 'running')
     ON CONFLICT (manifest_sha) DO UPDATE SET
       env = EXCLUDED.env, snapshot_id = EXCLUDED.snapshot_id, manifest_key = EXCLUDED.manifest_key,
       snapshot_created_at = EXCLUDED.snapshot_created_at, ordered_at = EXCLUDED.ordered_at, status = 'running', state_before = NULL, started_at = now(), finished_at = NULL,
       duration_ms = NULL, error = NULL, rows_read = 0, rows_inserted = 0, rows_updated = 0, rows_unchanged = 0,
       rows_kept_newer = 0, rows_missing = 0, rows_quarantined = 0, table_counts = '{}'::jsonb, warnings = '[]'::jsonb
     WHERE aqe.sync_runs.status = 'failed'
     RETURNING id`,
    [run.manifestSha, run.env, run.snapshotId, run.manifestKey, run.snapshotCreatedAt, run.orderedAt ?? null],
  );
  const id = res.rows[0]?.id;
  if (id === undefined) {
    const existing = await findRunByManifestSha(tx, run.manifestSha);
    throw new AppError('DB_CONFLICT', `manifest ${run.manifestKey} (sha256 ${run.manifestSha.slice(0, 12)}…) already has run ${existing?.id ?? '?'} with status ${existing?.status ?? '?'}: acknowledge it instead of loading again`, {
      details: { runId: existing?.id, status: existing?.status },
    });
  }
  return Number(id);
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
   * exist), and the environment's last snapshot before it: what a rollback restores.
   */
  stateBefore?: StateBefore;
}

/** What a run changed in sync_state, as it was before the run. */
export interface StateBefore {
  sources: Record<string, unknown>;
}

/** Sums per-table counts into run totals. */
export function totalCounts(tables: Record<string, TableMergeCounts>): TableMergeCounts {
  return Object.values(tables).reduce(addCounts, emptyCounts());
}

/** Closes the run record with its status, counts, warnings and duration. */
export async function finishRun(tx: Queryable, runId: number, input: FinishRunInput): Promise<void> {
  const t = totalCounts(input.tables);
  const res = await tx.query(
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
  if (res.rowCount !== 1) throw new AppError('INTERNAL', `finishRun: no sync_runs row with id ${runId}`);
}

/**
 * Records a load that failed outside its (rolled back) transaction: `failed` (transient: a
 * redelivery retries it) or `quarantined` (terminal: redeliveries are acknowledged).
 */
export async function recordRunFailure(db: Queryable, run: RunIdentity & { status: 'failed' | 'quarantined'; error: string }): Promise<number> {
  const res = await db.query<{ id: number }>(
    `INSERT INTO aqe.sync_runs (manifest_sha, env, snapshot_id, manifest_key, snapshot_created_at, status, error, finished_at, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp(), 0)
     ON CONFLICT (manifest_sha) DO UPDATE SET status = EXCLUDED.status, error = EXCLUDED.error, finished_at = clock_timestamp()
     WHERE aqe.sync_runs.status IN ('running', 'failed', 'quarantined')
     RETURNING id`,
    [run.manifestSha, run.env, run.snapshotId, run.manifestKey, run.snapshotCreatedAt, run.status, textForDb(run.error)],
  );
  const id = res.rows[0]?.id;
  if (id === undefined) {
    const existing = await findRunByManifestSha(db, run.manifestSha);
    return existing?.id ?? 0;
  }
  return Number(id);
}

export interface SyncStateInput {
  snapshotId: string;
  /** The snapshot's order time (the store's creation time of its manifest). */
  snapshotAt: Date;
  /** Recorded times after this are from a clock that ran ahead: any snapshot replaces them (snapshot-clock.ts). */
  futureBound?: Date;
  runId: number;
  success: boolean;
  /** Per-source state merged into sync_state.sources (keys replace). */
  sources?: Record<string, unknown>;
}

/**
 * Updates the environment's state; a late, older snapshot never moves last_snapshot_* backwards,
 * but a recorded time from the future (beyond `futureBound`) never holds it either.
 */
export async function updateSyncState(tx: Queryable, env: string, input: SyncStateInput): Promise<void> {
  const newer = `(s.last_snapshot_at IS NULL OR EXCLUDED.last_snapshot_at >= s.last_snapshot_at OR s.last_snapshot_at > $7::timestamptz)`;
  await tx.query(
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

/**
 * Records a quarantined snapshot (call on a fresh connection, outside the failed transaction).
 * The same unresolved manifest again bumps retry_count instead of adding a row.
 */
export async function recordQuarantine(db: Queryable, q: QuarantineInput): Promise<{ id: number; retryCount: number }> {
  const res = await db.query<{ id: number; retry_count: number }>(
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
