// The database side of `aqe-upload status`: per environment, the last snapshot and last success,
// the runs of the last day, open quarantine, row counts per target table and pending embeddings.
// Every count is a number (node-postgres returns bigint counts as strings: converted here once).

import type { Queryable } from '../db/database.js';
import { quoteIdent } from '../db/copy-encoding.js';
import { TARGET_TABLES } from '../../schema/tables/target-tables.js';

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

  const states = (await db.query<Record<string, unknown>>('SELECT env, last_snapshot_id, last_snapshot_at, last_success_at FROM aqe.sync_state WHERE ($1::text IS NULL OR env = $1)', [envFilter])).rows;
  const runs = (
    await db.query<Record<string, unknown>>(
      `SELECT id, env, snapshot_id, status, started_at, duration_ms, rows_inserted, rows_updated, rows_unchanged, rows_missing, error
       FROM aqe.sync_runs WHERE started_at > $2::timestamptz - interval '1 day' AND ($1::text IS NULL OR env = $1) ORDER BY started_at DESC, id DESC`,
      [envFilter, now],
    )
  ).rows;
  const quarantine = (
    await db.query<Record<string, unknown>>(
      `SELECT id, env, snapshot_id, manifest_key, code, reason, quarantined_at, retry_count FROM aqe.quarantine
       WHERE resolved_at IS NULL AND ($1::text IS NULL OR env = $1) ORDER BY quarantined_at DESC, id DESC`,
      [envFilter],
    )
  ).rows;
  const runEnvs = (await db.query<{ env: string }>('SELECT DISTINCT env FROM aqe.sync_runs WHERE ($1::text IS NULL OR env = $1)', [envFilter])).rows;

  const envs = new Set<string>([...states.map((s) => String(s['env'])), ...runEnvs.map((r) => r.env), ...tableRows.map((r) => r.env), ...quarantine.map((q) => String(q['env']))]);
  const environments: EnvironmentStatus[] = [...envs].sort().map((env) => {
    const state = states.find((s) => s['env'] === env);
    const envRuns = runs.filter((r) => r['env'] === env);
    const byStatus: Record<string, number> = {};
    for (const r of envRuns) byStatus[String(r['status'])] = (byStatus[String(r['status'])] ?? 0) + 1;
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
      lastSnapshot:
        state?.['last_snapshot_id'] && state['last_snapshot_at']
          ? { id: String(state['last_snapshot_id']), at: iso(state['last_snapshot_at']), ageSeconds: age(state['last_snapshot_at'], now) }
          : null,
      lastSuccess: state?.['last_success_at'] ? { at: iso(state['last_success_at']), ageSeconds: age(state['last_success_at'], now) } : null,
      runsLastDay: {
        total: envRuns.length,
        byStatus,
        runs: envRuns.map((r) => ({
          id: num(r['id']),
          snapshotId: String(r['snapshot_id']),
          status: String(r['status']),
          startedAt: iso(r['started_at']),
          durationMs: r['duration_ms'] === null || r['duration_ms'] === undefined ? null : num(r['duration_ms']),
          inserted: num(r['rows_inserted']),
          updated: num(r['rows_updated']),
          unchanged: num(r['rows_unchanged']),
          missing: num(r['rows_missing']),
          error: (r['error'] as string | null) ?? null,
        })),
      },
      quarantined: quarantine
        .filter((q) => q['env'] === env)
        .map((q) => ({
          id: num(q['id']),
          snapshotId: (q['snapshot_id'] as string | null) ?? null,
          manifestKey: String(q['manifest_key']),
          code: String(q['code']),
          reason: String(q['reason']),
          quarantinedAt: iso(q['quarantined_at']),
          retryCount: num(q['retry_count']),
        })),
      tables,
      missingRows,
      rows,
      pendingEmbeddings: pending,
    };
  });
  return { generatedAt: now.toISOString(), environments };
}
