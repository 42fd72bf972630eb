// Rolling back loads: the pre-images the loader recorded in aqe.undo_log are restored, newest run
// first, in ONE transaction under the environment's load lock: rows a run updated get their
// pre-image back (column by column from the jsonb, generated columns such as search_tsv skipped,
// vectors parsed from their text form), rows it inserted are deleted (events only inserted
// disappear), rows it marked missing are present again; the runs become `rolled_back`.
// A dry run does the same work and rolls the transaction back, so its counts are exact.

import type { Queryable, Database } from '../db/database.js';
import { quoteIdent } from '../db/copy-encoding.js';
import { jsonForDb } from '../db/db-text.js';
import { lockEnvironment } from '../loader/write/sync-runs.js';
import { AppError } from '../../schema/errors.js';
import { TARGET_TABLES } from '../../schema/tables/target-tables.js';

export interface RollbackRequest {
  env: string;
  /** Explicit runs (any order). */
  runIds?: readonly number[];
  /** Or the environment's last N succeeded runs. */
  last?: number;
  dryRun?: boolean;
}

export interface RollbackTableCounts {
  /** Rows given back their pre-image. */
  restored: number;
  /** Rows the runs had inserted, deleted. */
  deleted: number;
  /** Rows the runs had marked missing, present again. */
  unmarkedMissing: number;
}

export interface RollbackReport {
  env: string;
  dryRun: boolean;
  runs: Array<{ id: number; snapshotId: string; manifestKey: string; startedAt: string }>;
  /** Per target table. */
  tables: Record<string, RollbackTableCounts>;
  totals: RollbackTableCounts;
}

class DryRunDone extends Error {
  constructor(readonly report: RollbackReport) {
    super('dry run');
  }
}

/**
 * Rolls back runs of one environment.
 * @example const r = await rollbackRuns(db, { env: 'laptop', last: 1, dryRun: true }); r.totals.restored
 */
export async function rollbackRuns(db: Database, request: RollbackRequest): Promise<RollbackReport> {
  const dryRun = request.dryRun === true;
  try {
    return await db.transaction(async (tx) => {
      const report = await rollbackInTransaction(tx, request);
      if (dryRun) throw new DryRunDone(report);
      return report;
    });
  } catch (err) {
    if (err instanceof DryRunDone) return { ...err.report, dryRun: true };
    throw err;
  }
}

async function rollbackInTransaction(tx: Queryable, request: RollbackRequest): Promise<RollbackReport> {
  const { env } = request;
  await lockEnvironment(tx, env);
  const runs = await selectRuns(tx, request);
  const ids = runs.map((r) => r.id);

  // A later run that changed the same rows would be silently overwritten by these pre-images (or
  // lose rows these runs inserted): rows they logged, and rows they inserted (first_run_id).
  const blocking = new Set<number>();
  const later = await tx.query<{ run_id: string | number }>(
    `SELECT DISTINCT l.run_id FROM aqe.undo_log l
     JOIN aqe.undo_log s ON s.table_name = l.table_name AND s.source_env = l.source_env AND s.source_id = l.source_id
       AND s.source_table = l.source_table AND s.source_key = l.source_key
     JOIN aqe.sync_runs r ON r.id = l.run_id AND r.status = 'succeeded'
     WHERE s.run_id = ANY($1::bigint[]) AND l.run_id > s.run_id AND NOT (l.run_id = ANY($1::bigint[]))`,
    [ids.map(String)],
  );
  for (const r of later.rows) blocking.add(Number(r.run_id));
  for (const table of TARGET_TABLES) {
    const t = `aqe.${quoteIdent(table.name)}`;
    const res = await tx.query<{ run_id: string | number }>(
      `SELECT DISTINCT l.run_id FROM ${t} t
       JOIN aqe.undo_log l ON l.table_name = $2 AND l.source_env = t.source_env AND l.source_id = t.source_id
         AND l.source_table = t.source_table AND l.source_key = t.source_key
       JOIN aqe.sync_runs r ON r.id = l.run_id AND r.status = 'succeeded'
       WHERE t.source_env = $3 AND t.first_run_id = ANY($1::bigint[]) AND l.run_id > t.first_run_id AND NOT (l.run_id = ANY($1::bigint[]))`,
      [ids.map(String), table.name, env],
    );
    for (const r of res.rows) blocking.add(Number(r.run_id));
  }
  if (blocking.size > 0) {
    const blockers = [...blocking].sort((a, b) => a - b);
    throw new AppError(
      'DB_CONFLICT',
      `cannot roll back run ${ids.join(', ')} of ${env} alone: later run ${blockers.join(', ')} changed some of the same rows, and restoring the older pre-images would silently undo them.\n` +
        `Roll them back together, newest first:\nTry: aqe-upload rollback --env ${env} ${[...blockers, ...ids].sort((a, b) => b - a).map((id) => `--run ${id}`).join(' ')}`,
      { details: { runs: ids, blocking: blockers } },
    );
  }

  const tables: Record<string, RollbackTableCounts> = {};
  const columnsCache = new Map<string, string[]>();
  for (const run of [...runs].sort((a, b) => b.id - a.id)) {
    const logged = new Set(
      (await tx.query<{ table_name: string }>('SELECT DISTINCT table_name FROM aqe.undo_log WHERE run_id = $1 ORDER BY 1', [String(run.id)])).rows.map((r) => r.table_name),
    );
    for (const name of logged) {
      if (!TARGET_TABLES.some((t) => t.name === name)) throw new AppError('DB_SCHEMA', `aqe.undo_log of run ${run.id} names table "${name}", which is not a target table`);
    }
    for (const { name } of TARGET_TABLES) {
      const counts = tables[name] ?? { restored: 0, deleted: 0, unmarkedMissing: 0 };
      const t = `aqe.${quoteIdent(name)}`;
      const key = (a: string, b: string) => `${a}.source_env = ${b}.source_env AND ${a}.source_id = ${b}.source_id AND ${a}.source_table = ${b}.source_table AND ${a}.source_key = ${b}.source_key`;
      if (logged.has(name)) {
        let columns = columnsCache.get(name);
        if (!columns) {
          columns = await restorableColumns(tx, name);
          columnsCache.set(name, columns);
        }
        const restored = await tx.query(
          `UPDATE ${t} t SET ${columns.map((c) => `${quoteIdent(c)} = p.${quoteIdent(c)}`).join(', ')}
           FROM (SELECT p.* FROM aqe.undo_log u CROSS JOIN LATERAL jsonb_populate_record(NULL::${t}, u.pre_image) p
                 WHERE u.run_id = $1 AND u.table_name = $2 AND u.op = 'update' AND u.pre_image IS NOT NULL) p
           WHERE ${key('t', 'p')}`,
          [String(run.id), name],
        );
        counts.restored += restored.rowCount;
      }
      // rows the run inserted are the ones it wrote first (no undo entry is kept for an insert)
      const deleted = await tx.query(`DELETE FROM ${t} WHERE source_env = $1 AND first_run_id = $2`, [env, String(run.id)]);
      counts.deleted += deleted.rowCount;
      if (logged.has(name)) {
        const unmarked = await tx.query(
          `UPDATE ${t} t SET missing_since = NULL FROM aqe.undo_log u
           WHERE u.run_id = $1 AND u.table_name = $2 AND u.op = 'missing' AND t.missing_since IS NOT NULL AND ${key('t', 'u')}`,
          [String(run.id), name],
        );
        counts.unmarkedMissing += unmarked.rowCount;
      }
      if (logged.has(name) || counts.deleted > 0 || tables[name]) tables[name] = counts;
    }
  }
  await tx.query(`UPDATE aqe.sync_runs SET status = 'rolled_back' WHERE id = ANY($1::bigint[])`, [ids.map(String)]);
  await restoreSyncState(tx, env, ids);
  const totals = Object.values(tables).reduce((a, c) => ({ restored: a.restored + c.restored, deleted: a.deleted + c.deleted, unmarkedMissing: a.unmarkedMissing + c.unmarkedMissing }), {
    restored: 0,
    deleted: 0,
    unmarkedMissing: 0,
  });
  return {
    env,
    dryRun: false,
    runs: runs.map((r) => ({ id: r.id, snapshotId: r.snapshotId, manifestKey: r.manifestKey, startedAt: r.startedAt })),
    tables,
    totals,
  };
}

/**
 * The environment's sync_state as it was before the rolled-back runs: each per-source entry a run
 * wrote goes back to the entry it replaced (newest run first, so a chain of runs unwinds in
 * order), and the last snapshot / last run become the newest run still standing. Without this, a
 * later load compared itself with the rolled-back snapshot's time (found itself late: every row
 * it inserted was born missing) and skipped sources as unchanged since a run that no longer stands.
 */
async function restoreSyncState(tx: Queryable, env: string, ids: readonly number[]): Promise<void> {
  const state = await tx.query<{ sources: Record<string, { stateRunId?: number } | undefined> | null }>('SELECT sources FROM aqe.sync_state WHERE env = $1', [env]);
  const sources = { ...(state.rows[0]?.sources ?? {}) };
  const runs = await tx.query<{ id: string | number; state_before: { sources?: Record<string, unknown> } | null }>(
    'SELECT id, state_before FROM aqe.sync_runs WHERE id = ANY($1::bigint[]) ORDER BY id DESC',
    [ids.map(String)],
  );
  for (const run of runs.rows) {
    const id = Number(run.id);
    for (const [path, previous] of Object.entries(run.state_before?.sources ?? {})) {
      if (sources[path]?.stateRunId !== id) continue; // a later run standing wrote it since
      if (previous === null) delete sources[path];
      else sources[path] = previous as { stateRunId?: number };
    }
  }
  await tx.query(
    `UPDATE aqe.sync_state s SET sources = $2::jsonb,
       last_run_id = (SELECT max(id) FROM aqe.sync_runs r WHERE r.env = s.env AND r.status = 'succeeded'),
       last_snapshot_id = (SELECT r.snapshot_id FROM aqe.sync_runs r WHERE r.env = s.env AND r.status = 'succeeded' ORDER BY coalesce(r.ordered_at, r.started_at) DESC, r.id DESC LIMIT 1),
       last_snapshot_at = (SELECT coalesce(r.ordered_at, r.started_at) FROM aqe.sync_runs r WHERE r.env = s.env AND r.status = 'succeeded' ORDER BY coalesce(r.ordered_at, r.started_at) DESC, r.id DESC LIMIT 1),
       updated_at = now()
     WHERE s.env = $1`,
    [env, jsonForDb(sources)],
  );
}

interface RunRow {
  id: number;
  snapshotId: string;
  manifestKey: string;
  startedAt: string;
}

async function selectRuns(tx: Queryable, request: RollbackRequest): Promise<RunRow[]> {
  const { env } = request;
  const toRun = (r: Record<string, unknown>): RunRow => ({
    id: Number(r['id']),
    snapshotId: String(r['snapshot_id']),
    manifestKey: String(r['manifest_key']),
    startedAt: r['started_at'] instanceof Date ? r['started_at'].toISOString() : String(r['started_at']),
  });
  if (request.runIds && request.runIds.length > 0) {
    const res = await tx.query<Record<string, unknown>>('SELECT id, env, status, snapshot_id, manifest_key, started_at FROM aqe.sync_runs WHERE id = ANY($1::bigint[])', [request.runIds.map(String)]);
    const problems: string[] = [];
    for (const id of request.runIds) {
      const row = res.rows.find((r) => Number(r['id']) === id);
      if (!row) problems.push(`run ${id} does not exist`);
      else if (row['env'] !== env) problems.push(`run ${id} belongs to environment ${String(row['env'])}, not ${env}`);
      else if (row['status'] !== 'succeeded') problems.push(`run ${id} is ${String(row['status'])}: only succeeded runs can be rolled back`);
    }
    if (problems.length > 0) throw new AppError('USAGE', `${problems.join('\n')}\nTry: aqe-upload status --env ${env}`);
    return res.rows.map(toRun);
  }
  const last = request.last ?? 0;
  if (!Number.isInteger(last) || last < 1) throw new AppError('USAGE', `--last ${String(request.last)}: expected a whole number >= 1\nTry: aqe-upload rollback --env ${env} --last 1 --dry-run`);
  const res = await tx.query<Record<string, unknown>>(
    `SELECT id, snapshot_id, manifest_key, started_at FROM aqe.sync_runs WHERE env = $1 AND status = 'succeeded' ORDER BY id DESC LIMIT $2`,
    [env, last],
  );
  if (res.rows.length === 0) throw new AppError('USAGE', `environment ${env} has no succeeded run to roll back\nTry: aqe-upload status`);
  if (res.rows.length < last) throw new AppError('USAGE', `--last ${last}: environment ${env} has only ${res.rows.length} succeeded run(s)\nTry: aqe-upload rollback --env ${env} --last ${res.rows.length}`);
  return res.rows.map(toRun);
}

/** Columns of aqe.<table> a pre-image restores: all but the natural key and generated columns. */
async function restorableColumns(tx: Queryable, table: string): Promise<string[]> {
  const res = await tx.query<{ attname: string }>(
    `SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'aqe' AND c.relname = $1 AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
     ORDER BY a.attnum`,
    [table],
  );
  const key = new Set(['source_env', 'source_id', 'source_table', 'source_key']);
  return res.rows.map((r) => r.attname).filter((c) => !key.has(c));
}
