// Fingerprints of everything a load writes, to tell "exactly as before" from "exactly as after":
// per aqe target table and per bookkeeping table (sync_runs, sync_state, undo_log, quarantine,
// embedding_cache) the row count and an md5 of the rows in key order.
//   exact: every column as stored (ids, timestamps, embeddings) and each row's version (xmin):
//     equal means nothing was written.
//   logical: what a load decides, comparable across two databases that loaded the same
//     manifests: run ids become the manifest sha of their run, now()-valued columns (missing_since,
//     started_at, …) become whether they are set, serial ids are dropped, and the embedding
//     columns are left out (derived data, filled after the commit by the embedding stage, and
//     by reconcile for what a killed stage left pending).
import type { Queryable } from '../../../../functions/db/database.js';
import { EMBEDDING_COLUMNS, TARGET_TABLES } from '../../../../schema/tables/target-tables.js';

/** `table → { rows, md5 }` (md5 of the rows' JSON, one per line, in a fixed order). */
export type Fingerprint = Record<string, { rows: number; md5: string }>;

const DERIVED = EMBEDDING_COLUMNS.filter((c) => c !== 'search_text');
const RUN_COLUMNS = ['first_run_id', 'last_run_id', 'missing_since'];

/** SQL of the logical image of jsonb row `j`, given the manifest shas of its first and last runs. */
function logicalRow(j: string, firstSha: string, lastSha: string): string {
  return `((${j}) - ${sqlArray([...DERIVED, ...RUN_COLUMNS, 'search_tsv'])})
    || jsonb_build_object('first_run', ${firstSha}, 'last_run', ${lastSha}, 'missing', ((${j})->>'missing_since') IS NOT NULL)`;
}

function sqlArray(items: readonly string[]): string {
  return `ARRAY[${items.map((i) => `'${i}'`).join(', ')}]::text[]`;
}

const agg = (expr: string, order: string) => `SELECT count(*)::int AS rows, coalesce(md5(string_agg((${expr})::text, E'\\n' ORDER BY ${order})), '') AS md5`;
const KEY = `(t.source_env || '/' || t.source_id || '/' || t.source_table || '/' || t.source_key) COLLATE "C"`;

// the row version (xmin) too: a rewrite with the same content is a write
const VERSIONED = `t.xmin::text || ' ' || to_jsonb(t)::text`;

function exactQueries(): Record<string, string> {
  const q: Record<string, string> = {};
  for (const t of TARGET_TABLES) q[t.name] = `${agg(VERSIONED, KEY)} FROM aqe.${t.name} t`;
  q['sync_runs'] = `${agg(VERSIONED, 't.id')} FROM aqe.sync_runs t`;
  q['sync_state'] = `${agg(VERSIONED, 't.env')} FROM aqe.sync_state t`;
  q['undo_log'] = `${agg(VERSIONED, 't.id')} FROM aqe.undo_log t`;
  q['quarantine'] = `${agg(VERSIONED, 't.id')} FROM aqe.quarantine t`;
  q['embedding_cache'] = `${agg(VERSIONED, 't.text_hash')} FROM aqe.embedding_cache t`;
  return q;
}

function logicalQueries(): Record<string, string> {
  const q: Record<string, string> = {};
  for (const t of TARGET_TABLES) {
    q[t.name] = `${agg(logicalRow('to_jsonb(t)', 'f.manifest_sha', 'l.manifest_sha'), KEY)}
      FROM aqe.${t.name} t LEFT JOIN aqe.sync_runs f ON f.id = t.first_run_id LEFT JOIN aqe.sync_runs l ON l.id = t.last_run_id`;
  }
  const runSha = (col: string) => `(SELECT r.manifest_sha FROM aqe.sync_runs r WHERE r.id = ${col})`;
  // a per-source state entry names the run that merged it (runId) and the run that wrote it (stateRunId)
  const entry = (v: string) => `CASE WHEN jsonb_typeof(${v}) = 'object' THEN (${v} - 'runId' - 'stateRunId') || jsonb_build_object('run', ${runSha(`(${v}->>'runId')::bigint`)}, 'stateRun', ${runSha(`(${v}->>'stateRunId')::bigint`)}) ELSE ${v} END`;
  const stateBefore = `(SELECT jsonb_object_agg(s.key, ${entry('s.value')}) FROM jsonb_each(t.state_before->'sources') s)`;
  q['sync_runs'] = `${agg(
    `(to_jsonb(t) - ${sqlArray(['id', 'started_at', 'finished_at', 'duration_ms', 'state_before'])}) || jsonb_build_object('finished', t.finished_at IS NOT NULL, 'state_before', ${stateBefore})`,
    't.manifest_sha COLLATE "C"',
  )} FROM aqe.sync_runs t`;
  const sources = `(SELECT coalesce(jsonb_object_agg(s.key, ${entry('s.value')}), '{}'::jsonb)
    FROM jsonb_each(t.sources) s)`;
  q['sync_state'] = `${agg(
    `(to_jsonb(t) - ${sqlArray(['last_run_id', 'last_success_at', 'updated_at', 'sources'])}) || jsonb_build_object('last_run', ${runSha('t.last_run_id')}, 'succeeded', t.last_success_at IS NOT NULL, 'sources', ${sources})`,
    't.env',
  )} FROM aqe.sync_state t`;
  const image = logicalRow('t.pre_image', runSha("(t.pre_image->>'first_run_id')::bigint"), runSha("(t.pre_image->>'last_run_id')::bigint"));
  q['undo_log'] = `${agg('u.j', 'u.j::text COLLATE "C"')} FROM (
      SELECT (to_jsonb(t) - ${sqlArray(['id', 'run_id', 'pre_image'])}) || jsonb_build_object('run', ${runSha('t.run_id')}, 'pre_image', CASE WHEN t.pre_image IS NULL THEN NULL ELSE ${image} END) AS j
      FROM aqe.undo_log t) u`;
  const quarantine = `to_jsonb(t) - ${sqlArray(['id', 'quarantined_at', 'report'])}`;
  q['quarantine'] = `${agg(quarantine, `(${quarantine})::text COLLATE "C"`)} FROM aqe.quarantine t`;
  return q;
}

const EXACT = exactQueries();
const LOGICAL = logicalQueries();

async function run(db: Queryable, queries: Record<string, string>): Promise<Fingerprint> {
  const out: Fingerprint = {};
  for (const [name, sql] of Object.entries(queries)) {
    const res = await db.query<{ rows: number; md5: string }>(sql);
    const row = res.rows[0];
    out[name] = { rows: Number(row?.rows ?? 0), md5: String(row?.md5 ?? '') };
  }
  return out;
}

/** Every column of every row the loader writes: equal means the database was not changed. */
export function exactFingerprint(db: Queryable): Promise<Fingerprint> {
  return run(db, EXACT);
}

/** The load's decisions, comparable with another database that loaded the same manifests (see the header). */
export function logicalFingerprint(db: Queryable): Promise<Fingerprint> {
  return run(db, LOGICAL);
}

/** Total rows over the target tables of a fingerprint. */
export function targetRows(fp: Fingerprint): number {
  return TARGET_TABLES.reduce((n, t) => n + (fp[t.name]?.rows ?? 0), 0);
}

/** Names of the tables whose entries differ (for messages). */
export function differingTables(a: Fingerprint, b: Fingerprint): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => a[k]?.rows !== b[k]?.rows || a[k]?.md5 !== b[k]?.md5);
}
