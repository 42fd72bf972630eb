// Rolling back loads: the pre-images the loader recorded in aqe.undo_log are restored through the
// run ledger, newest run first, in ONE transaction under the environment's load lock: rows a run updated get their
// pre-image back (column by column from the jsonb, generated columns such as search_tsv skipped,
// vectors parsed from their text form), rows it inserted are deleted (events only inserted
// disappear), rows it marked missing are present again; the runs become `rolled_back`.
// A dry run does the same work and rolls the transaction back, so its counts are exact.

import type { DatabaseConnection, Queryable } from '../db/database.js';
import { type RollbackCandidate, RunLedger } from '../loader/write/run-ledger.js';
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
export async function rollbackRuns(db: DatabaseConnection, request: RollbackRequest): Promise<RollbackReport> {
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
  const ledger = new RunLedger(tx);
  await ledger.lockEnvironment(env);
  const runs = await selectRuns(ledger, request);
  const ids = runs.map((r) => r.id);

  // A later run that changed the same rows would be silently overwritten by these pre-images (or
  // lose rows these runs inserted): rows they logged, and rows they inserted (first_run_id).
  const blockers = await ledger.laterRunsTouching(ids, env, TARGET_TABLES.map((t) => t.name));
  if (blockers.length > 0) {
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
    const logged = new Set(await ledger.loggedTables(run.id));
    for (const name of logged) {
      if (!TARGET_TABLES.some((t) => t.name === name)) throw new AppError('DB_SCHEMA', `aqe.undo_log of run ${run.id} names table "${name}", which is not a target table`);
    }
    for (const { name } of TARGET_TABLES) {
      const counts = tables[name] ?? { restored: 0, deleted: 0, unmarkedMissing: 0 };
      if (logged.has(name)) {
        let columns = columnsCache.get(name);
        if (!columns) {
          columns = await restorableColumns(tx, name);
          columnsCache.set(name, columns);
        }
        counts.restored += await ledger.restorePreImages(run.id, name, columns);
      }
      counts.deleted += await ledger.deleteInserted(run.id, env, name);
      if (logged.has(name)) counts.unmarkedMissing += await ledger.unmarkMissing(run.id, name);
      if (logged.has(name) || counts.deleted > 0 || tables[name]) tables[name] = counts;
    }
  }
  await ledger.markRolledBack(env, ids);
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

async function selectRuns(ledger: RunLedger, request: RollbackRequest): Promise<RollbackCandidate[]> {
  const { env } = request;
  if (request.runIds && request.runIds.length > 0) {
    const found = await ledger.runsById(request.runIds);
    const problems: string[] = [];
    for (const id of request.runIds) {
      const run = found.find((r) => r.id === id);
      if (!run) problems.push(`run ${id} does not exist`);
      else if (run.env !== env) problems.push(`run ${id} belongs to environment ${run.env}, not ${env}`);
      else if (run.status !== 'succeeded') problems.push(`run ${id} is ${run.status}: only succeeded runs can be rolled back`);
    }
    if (problems.length > 0) throw new AppError('USAGE', `${problems.join('\n')}\nTry: aqe-upload status --env ${env}`);
    return found;
  }
  const last = request.last ?? 0;
  if (!Number.isInteger(last) || last < 1) throw new AppError('USAGE', `--last ${String(request.last)}: expected a whole number >= 1\nTry: aqe-upload rollback --env ${env} --last 1 --dry-run`);
  const found = await ledger.lastSucceeded(env, last);
  if (found.length === 0) throw new AppError('USAGE', `environment ${env} has no succeeded run to roll back\nTry: aqe-upload status`);
  if (found.length < last) throw new AppError('USAGE', `--last ${last}: environment ${env} has only ${found.length} succeeded run(s)\nTry: aqe-upload rollback --env ${env} --last ${found.length}`);
  return found;
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
