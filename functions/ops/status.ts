// The database side of `aqe-upload status`: per environment, the last snapshot and last success,
// the runs of the last day and open quarantine (read through the run ledger), row counts per
// target table and pending embeddings. Every count is a number (node-postgres returns bigint
// counts as strings: converted here once).

import type { Queryable } from '../db/database.js';
import { quoteIdent } from '../db/copy-encoding.js';
import { TARGET_TABLES } from '../../schema/tables/target-tables.js';
import { RunLedger } from '../loader/write/run-ledger.js';

const DAY_MS = 24 * 3600_000;

export interface RunSummary {
  id: number;
  snapshotId: string;
  status: string;
  startedAt: string;
  durationMs: number | null;
  inserted: number;
  updated: number;
  unchanged: number;
  missing: number;
  error: string | null;
}

export interface QuarantineSummary {
  id: number;
  snapshotId: string | null;
  manifestKey: string;
  code: string;
  reason: string;
  quarantinedAt: string;
  retryCount: number;
}

export interface EnvironmentStatus {
  env: string;
  lastSnapshot: { id: string; at: string; ageSeconds: number } | null;
  lastSuccess: { at: string; ageSeconds: number } | null;
  runsLastDay: { total: number; byStatus: Record<string, number>; runs: RunSummary[] };
  quarantined: QuarantineSummary[];
  /** Present rows (missing_since IS NULL) per target table; tables without rows are left out. */
  tables: Record<string, number>;
  /** Rows gone from their source (kept, marked missing_since). */
  missingRows: number;
  rows: number;
  pendingEmbeddings: number;
}

export interface DatabaseStatus {
  generatedAt: string;
  environments: EnvironmentStatus[];
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const age = (v: unknown, now: Date): number => Math.max(0, Math.round((now.getTime() - new Date(v instanceof Date ? v : String(v)).getTime()) / 1000));

/**
 * Reads the status of every environment the database knows (or only `env`).
 * @example const s = await readDatabaseStatus(db, { now: new Date() }); s.environments[0]?.rows
 */
export async function readDatabaseStatus(db: Queryable, options: { env?: string; now?: Date } = {}): Promise<DatabaseStatus> {
  const now = options.now ?? new Date();
  const envFilter = options.env ?? null;

  const counts = TARGET_TABLES.map(
    (t) =>
      `SELECT ${`'${t.name}'`} AS t, source_env AS env, count(*) FILTER (WHERE missing_since IS NULL) AS n,
        count(*) FILTER (WHERE missing_since IS NOT NULL) AS gone,
        ${t.embedded ? `count(*) FILTER (WHERE embedding_status = 'pending' AND missing_since IS NULL)` : '0::bigint'} AS pending
       FROM aqe.${quoteIdent(t.name)} WHERE ($1::text IS NULL OR source_env = $1) GROUP BY source_env`,
  ).join(' UNION ALL ');
  const tableRows = (await db.query<{ t: string; env: string; n: unknown; gone: unknown; pending: unknown }>(counts, [envFilter])).rows;

  const ledger = new RunLedger(db);
  const states = await ledger.environmentStates(options.env);
  const runs = await ledger.runsSince(new Date(now.getTime() - DAY_MS), options.env);
  const quarantine = (await ledger.openQuarantine(options.env)).sort((a, b) => b.quarantinedAt.getTime() - a.quarantinedAt.getTime() || b.id - a.id);
  const runEnvs = await ledger.environments(options.env);

  const envs = new Set<string>([...states.map((s) => s.env), ...runEnvs, ...tableRows.map((r) => r.env), ...quarantine.map((q) => q.env)]);
  const environments: EnvironmentStatus[] = [...envs].sort().map((env) => {
    const state = states.find((s) => s.env === env);
    const envRuns = runs.filter((r) => r.env === env);
    const byStatus: Record<string, number> = {};
    for (const r of envRuns) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    const tables: Record<string, number> = {};
    let rows = 0;
    let missingRows = 0;
    let pending = 0;
    for (const r of tableRows.filter((x) => x.env === env)) {
      if (num(r.n) > 0) tables[r.t] = num(r.n);
      rows += num(r.n);
      missingRows += num(r.gone);
      pending += num(r.pending);
    }
    return {
      env,
      lastSnapshot: state?.lastSnapshotId && state.lastSnapshotAt ? { id: state.lastSnapshotId, at: iso(state.lastSnapshotAt), ageSeconds: age(state.lastSnapshotAt, now) } : null,
      lastSuccess: state?.lastSuccessAt ? { at: iso(state.lastSuccessAt), ageSeconds: age(state.lastSuccessAt, now) } : null,
      runsLastDay: {
        total: envRuns.length,
        byStatus,
        runs: envRuns.map((r) => ({
          id: r.id,
          snapshotId: r.snapshotId,
          status: r.status,
          startedAt: iso(r.startedAt),
          durationMs: r.durationMs,
          inserted: r.rowsInserted,
          updated: r.rowsUpdated,
          unchanged: r.rowsUnchanged,
          missing: r.rowsMissing,
          error: r.error,
        })),
      },
      quarantined: quarantine
        .filter((q) => q.env === env)
        .map((q) => ({ id: q.id, snapshotId: q.snapshotId, manifestKey: q.manifestKey, code: q.code, reason: q.reason, quarantinedAt: iso(q.quarantinedAt), retryCount: q.retryCount })),
      tables,
      missingRows,
      rows,
      pendingEmbeddings: pending,
    };
  });
  return { generatedAt: now.toISOString(), environments };
}
