// The SQL of one table's merge, built as plain strings with no I/O (DESIGN.md 3.4, 3.5): a TEMP
// staging table; one set-based statement that classifies every staged row against the stored
// one (a TEMP decisions table); then one set-based statement each for the undo log, updates,
// embedding fills / reappearances, inserts, and rows gone missing. Identifiers come only from
// target-tables.ts; values only as parameters.
import type { DialectSql } from '../../db/dialect.js';
import { quoteIdent } from '../../db/copy-encoding.js';
import { COMMON_COLUMNS, type ColumnType, type TargetTable } from '../../../schema/tables/target-tables.js';

const SQL_TYPE: Record<ColumnType, string> = {
  text: 'text',
  jsonb: 'jsonb',
  double: 'double precision',
  bigint: 'bigint',
  integer: 'integer',
  boolean: 'boolean',
  timestamptz: 'timestamptz',
  'real[]': 'real[]',
  'double[]': 'double precision[]',
  bytea: 'bytea',
};

/** SQL type of a ColumnType. */
export function sqlType(type: ColumnType): string {
  return SQL_TYPE[type];
}

/** Staged embedding columns, in COPY order (embedding travels as '[…]' text, cast in the merge). */
export const STAGE_EMBEDDING_COLUMNS = ['search_text', 'embedding', 'embedding_model', 'embedding_text_hash', 'embedding_status'] as const;

export interface MergeSql {
  /** Unqualified TEMP table name (lives in pg_temp). */
  stageTable: string;
  /** Columns of the staging table in COPY order: ord, then source_table … extra, modelled, embedding. */
  stageColumns: string[];
  /** DROP + CREATE TEMP TABLE … ON COMMIT DROP. */
  createStage: string;
  /** Keeps the last staged row per key (by ord). */
  dedupeStage: string;
  /** Unqualified TEMP table of decisions (staged rows + action). */
  decideTable: string;
  /** DROP + CREATE TEMP TABLE for the decisions (no params). */
  createDecide: string;
  /**
   * The merge, in order: decide → counts → undo → update → touch → insert.
   * Statements with values are `Statement`s: named parameters, bound by `bindStatement`.
   */
  decide: Statement;
  /** One row of counts (MergeCountsRow). No params. */
  counts: string;
  /** Pre-images of rows about to be updated or touched (inserted rows need none: first_run_id names them). */
  undo: Statement;
  update: Statement;
  touch: Statement;
  insert: Statement;
  /** Marks rows of fully captured source tables (:source_tables) that are not staged. Returns { missing }. */
  markMissing: Statement;
  /**
   * Columns of the target in the order a direct COPY sends them (the fast path for a source with
   * no stored rows): source_env, source_id, source_table … extra, modelled, embedding columns,
   * first_run_id, last_run_id, snapshot_at, missing_since.
   */
  directColumns: string[];
  /** Whether (env, source_id) has any stored row: `SELECT EXISTS(…) AS stored` with :env, :source_id. */
  anyStored: Statement;
}

export interface MergeCountsRow {
  staged: number | string;
  to_insert: number | string;
  to_update: number | string;
  unchanged: number | string;
  to_touch: number | string;
  kept_newer: number | string;
  immutable_conflicts: number | string;
  embeddings_filled: number | string;
  reappeared: number | string;
  to_log: number | string;
}

/** Values a merge statement can bind, by name. */
export type ParamName = 'env' | 'source_id' | 'run_id' | 'snapshot_at' | 'table_name' | 'source_tables' | 'late' | 'remap' | 'future_bound';

/** SQL with positional placeholders and the name bound to each ($1 = params[0], …). */
export interface Statement {
  text: string;
  params: ParamName[];
}

const PARAM = /(?<!:):(env|source_id|run_id|snapshot_at|table_name|source_tables|late|remap|future_bound)\b/g;

/** Turns `:name` placeholders into $1…$n, numbering each distinct name once. */
export function named(sql: string): Statement {
  const params: ParamName[] = [];
  const text = sql.replace(PARAM, (_m, name: ParamName) => {
    let i = params.indexOf(name);
    if (i < 0) i = params.push(name) - 1;
    return `$${i + 1}`;
  });
  return { text, params };
}

/** The values of `stmt`'s parameters, in order. */
export function bindStatement(stmt: Statement, values: Record<ParamName, unknown>): unknown[] {
  return stmt.params.map((p) => values[p]);
}

const KEY_MATCH = (t: string, d: string) => `${t}.source_env = :env AND ${t}.source_id = :source_id AND ${t}.source_table = ${d}.source_table AND ${t}.source_key = ${d}.source_key`;

/**
 * The merge SQL for `table` in dialect `d` (the database's: `tx.dialect`).
 *
 * Decision per staged row (column `merge_action`; prefixed so it never clashes with a table column such as trajectories.action):
 * - `insert`: key not stored → inserted (first_run_id = last_run_id = run)
 * - `unchanged`: same content_hash → not touched at all
 * - `touch`: same content_hash but the stored row is missing (missing_since cleared) or waits for
 *   an embedding the staged row has (embedding columns filled): no content change, so
 *   last_run_id / snapshot_at stay
 * - `conflict` (immutable tables): content differs → stored row kept (counted in keptNewer and
 *   immutableConflicts); with :remap (the mappings changed since the source was last read) the
 *   stored row is our older reading of the same source row and is updated
 * - `update` / `kept` (latest, pattern): the staged row wins when its source_updated_at is newer;
 *   when the times are equal or either is missing: (pattern) the higher confidence wins, then
 *   (both) the later snapshot wins (snapshot_at >= stored). Counters of `pattern` tables become
 *   GREATEST(stored, staged).
 */
export function buildMergeSql(table: TargetTable, d: DialectSql): MergeSql {
  const target = `aqe.${quoteIdent(table.name)}`;
  const stageTable = `aqe_stage_${table.name}`;
  const stage = `pg_temp.${quoteIdent(stageTable)}`;
  const common = COMMON_COLUMNS.filter((c) => !['source_env', 'source_id'].includes(c.name));
  const modelled = table.columns;
  const q = quoteIdent;

  const stageDefs = [
    'ord bigint NOT NULL',
    ...common.map((c) => `${q(c.name)} ${sqlType(c.type)}`),
    ...modelled.map((c) => `${q(c.name)} ${sqlType(c.type)}`),
    ...(table.embedded ? ['search_text text', 'embedding text', 'embedding_model text', 'embedding_text_hash bytea', 'embedding_status text'] : []),
  ];
  const stageColumns = ['ord', ...common.map((c) => c.name), ...modelled.map((c) => c.name), ...(table.embedded ? [...STAGE_EMBEDDING_COLUMNS] : [])];

  const counters = new Set(table.policy === 'pattern' ? (table.counters ?? []) : []);
  const hasConfidence = modelled.some((c) => c.name === 'confidence');
  const castEmbedding = (expr: string) => d.castText(expr);

  const fill = table.embedded ? `(t.embedding_status IN ('pending', 'failed') AND s.embedding IS NOT NULL)` : 'false';
  // A time beyond :future_bound (the loader's now plus the clock-skew tolerance) came from a clock
  // that ran ahead: it counts as unknown, so it can never keep a later change out (snapshot-clock.ts).
  const trusted = (col: string) => `(CASE WHEN ${col} > :future_bound::timestamptz THEN NULL ELSE ${col} END)`;
  const sUpdated = trusted('s.source_updated_at');
  const tUpdated = trusted('t.source_updated_at');
  // immutable rows are written once, except when the mappings changed since this source was last
  // read (:remap): then the stored row is our older reading of the same source row, not history
  const changedBranch =
    table.policy === 'immutable'
      ? `WHEN :remap::boolean THEN 'update'\n        ELSE 'conflict'`
      : [
          `WHEN ${sUpdated} IS NOT NULL AND ${tUpdated} IS NOT NULL AND ${sUpdated} <> ${tUpdated}`,
          `  THEN CASE WHEN ${sUpdated} > ${tUpdated} THEN 'update' ELSE 'kept' END`,
          ...(table.policy === 'pattern' && hasConfidence
            ? [`WHEN s.confidence IS NOT NULL AND t.confidence IS NOT NULL AND s.confidence <> t.confidence`, `  THEN CASE WHEN s.confidence > t.confidence THEN 'update' ELSE 'kept' END`]
            : []),
          `WHEN :snapshot_at::timestamptz >= t.snapshot_at OR t.snapshot_at > :future_bound::timestamptz THEN 'update'`,
          `ELSE 'kept'`,
        ].join('\n        ');

  const decideTable = `aqe_decide_${table.name}`;
  const dec = `pg_temp.${quoteIdent(decideTable)}`;
  // The decisions land in a temp table (not a CTE), so each following statement is a plain
  // hash join against it (the caller disables nested loops: see merge-table-rows.ts); the
  // counts come from it before any write, so statements with nothing to do are skipped.
  const createDecide = `DROP TABLE IF EXISTS ${dec}; CREATE TEMP TABLE ${q(decideTable)} (LIKE ${stage}) ON COMMIT DROP;
    ALTER TABLE ${dec} ADD COLUMN merge_was_missing boolean, ADD COLUMN merge_fill boolean, ADD COLUMN merge_action text, ADD COLUMN merge_unmiss boolean`;
  // merge_unmiss: a stored row kept (its values win) that this snapshot holds while it is marked
  // missing: it is present again, whatever its values (a row the newest snapshot has is never missing)
  const decide = `INSERT INTO ${dec}
    SELECT x.*, (x.merge_was_missing AND x.merge_action IN ('kept', 'conflict') AND NOT :late::boolean) AS merge_unmiss FROM (
    SELECT s.*,
      (t.missing_since IS NOT NULL) AS merge_was_missing,
      coalesce(t.content_hash = s.content_hash AND ${fill}, false) AS merge_fill,
      CASE
        WHEN t.source_key IS NULL THEN 'insert'
        WHEN t.content_hash = s.content_hash THEN
          CASE WHEN t.missing_since IS NOT NULL OR ${fill} THEN 'touch' ELSE 'unchanged' END
        ${changedBranch}
      END AS merge_action
    FROM ${stage} s
    LEFT JOIN ${target} t ON t.source_env = :env::text AND t.source_id = :source_id::text AND t.source_table = s.source_table AND t.source_key = s.source_key) x`;

  // Inserted rows get no undo entry: rollback deletes the rows whose first_run_id is the run.
  const undo = `INSERT INTO aqe.undo_log (run_id, table_name, source_env, source_id, source_table, source_key, op, pre_image)
    SELECT :run_id::bigint, :table_name::text, :env::text, :source_id::text, d.source_table, d.source_key, 'update', to_jsonb(t)
    FROM ${dec} d JOIN ${target} t ON ${KEY_MATCH('t', 'd')}
    WHERE d.merge_action IN ('update', 'touch') OR d.merge_unmiss`;

  // A changed row whose search text did not change keeps its embedding (never re-embedded).
  const keep = (src: string) => `(${src}.embedding IS NULL AND t.embedding IS NOT NULL AND t.embedding_text_hash IS NOT DISTINCT FROM ${src}.embedding_text_hash)`;
  const embeddingSet = (src: string) => [
    `search_text = ${src}.search_text`,
    `embedding = CASE WHEN ${keep(src)} THEN t.embedding ELSE ${castEmbedding(`${src}.embedding`)} END`,
    `embedding_model = CASE WHEN ${keep(src)} THEN t.embedding_model ELSE ${src}.embedding_model END`,
    `embedding_text_hash = ${src}.embedding_text_hash`,
    `embedding_status = CASE WHEN ${keep(src)} THEN t.embedding_status ELSE ${src}.embedding_status END`,
  ];
  // A late snapshot (older than the newest one loaded for this source) never decides presence:
  // the newer snapshot already did (rows it lacked stay missing, rows it had are not marked).
  const presence = 'missing_since = CASE WHEN :late::boolean THEN t.missing_since ELSE NULL END';
  const updateSets = [
    ...common.filter((c) => !['source_table', 'source_key'].includes(c.name)).map((c) => `${q(c.name)} = d.${q(c.name)}`),
    ...modelled.map((c) => (counters.has(c.name) ? `${q(c.name)} = GREATEST(t.${q(c.name)}, d.${q(c.name)})` : `${q(c.name)} = d.${q(c.name)}`)),
    ...(table.embedded ? embeddingSet('d') : []),
    'last_run_id = :run_id::bigint',
    'snapshot_at = :snapshot_at::timestamptz',
    presence,
  ];
  const update = `UPDATE ${target} t SET
      ${updateSets.join(',\n      ')}
    FROM ${dec} d WHERE d.merge_action = 'update' AND ${KEY_MATCH('t', 'd')}`;

  const touchSets = [
    presence,
    ...(table.embedded
      ? [
          `search_text = CASE WHEN d.merge_fill THEN d.search_text ELSE t.search_text END`,
          `embedding = CASE WHEN d.merge_fill THEN ${castEmbedding('d.embedding')} ELSE t.embedding END`,
          `embedding_model = CASE WHEN d.merge_fill THEN d.embedding_model ELSE t.embedding_model END`,
          `embedding_text_hash = CASE WHEN d.merge_fill THEN d.embedding_text_hash ELSE t.embedding_text_hash END`,
          `embedding_status = CASE WHEN d.merge_fill THEN d.embedding_status ELSE t.embedding_status END`,
        ]
      : []),
  ];
  const touch = `UPDATE ${target} t SET
      ${touchSets.join(',\n      ')}
    FROM ${dec} d WHERE (d.merge_action = 'touch' OR d.merge_unmiss) AND ${KEY_MATCH('t', 'd')}`;

  const insertCols = [
    'source_env',
    'source_id',
    ...common.map((c) => c.name),
    ...modelled.map((c) => c.name),
    ...(table.embedded ? ['search_text', 'embedding', 'embedding_model', 'embedding_text_hash', 'embedding_status'] : []),
    'first_run_id',
    'last_run_id',
    'snapshot_at',
    'missing_since',
  ];
  const insertVals = [
    ':env::text',
    ':source_id::text',
    ...common.map((c) => `d.${q(c.name)}`),
    ...modelled.map((c) => `d.${q(c.name)}`),
    ...(table.embedded ? ['d.search_text', castEmbedding('d.embedding'), 'd.embedding_model', 'd.embedding_text_hash', 'd.embedding_status'] : []),
    ':run_id::bigint',
    ':run_id::bigint',
    ':snapshot_at::timestamptz',
    'CASE WHEN :late::boolean THEN now() END',
  ];
  const insert = `INSERT INTO ${target} (${insertCols.map(q).join(', ')})
    SELECT ${insertVals.join(', ')}
    FROM ${dec} d WHERE d.merge_action = 'insert'
    ON CONFLICT DO NOTHING`;

  const counts = `SELECT
    count(*) AS staged,
    count(*) FILTER (WHERE merge_action = 'insert') AS to_insert,
    count(*) FILTER (WHERE merge_action = 'update') AS to_update,
    count(*) FILTER (WHERE merge_action IN ('unchanged', 'touch')) AS unchanged,
    count(*) FILTER (WHERE merge_action = 'touch' OR merge_unmiss) AS to_touch,
    count(*) FILTER (WHERE merge_action IN ('kept', 'conflict')) AS kept_newer,
    count(*) FILTER (WHERE merge_action = 'conflict') AS immutable_conflicts,
    count(*) FILTER (WHERE merge_action = 'touch' AND merge_fill) AS embeddings_filled,
    count(*) FILTER (WHERE merge_was_missing AND (merge_action IN ('update', 'touch') OR merge_unmiss)) AS reappeared,
    count(*) FILTER (WHERE merge_action IN ('update', 'touch') OR merge_unmiss) AS to_log
  FROM ${dec}`;

  // One statement: the UPDATE's RETURNING feeds the undo log (no join back to the CTE).
  const markMissing = `WITH m AS (
    UPDATE ${target} t SET missing_since = now()
    WHERE t.source_env = :env AND t.source_id = :source_id AND t.source_table = ANY(:source_tables::text[]) AND t.missing_since IS NULL
      AND NOT EXISTS (SELECT 1 FROM ${stage} s WHERE s.source_table = t.source_table AND s.source_key = t.source_key)
    RETURNING t.source_table, t.source_key
  ),
  undo AS (
    INSERT INTO aqe.undo_log (run_id, table_name, source_env, source_id, source_table, source_key, op, pre_image)
    SELECT :run_id::bigint, :table_name::text, :env::text, :source_id::text, m.source_table, m.source_key, 'missing', NULL FROM m
    RETURNING 1
  )
SELECT (SELECT count(*) FROM m) AS missing, (SELECT count(*) FROM undo) AS undo_rows`;

  return {
    stageTable,
    stageColumns,
    createStage: `DROP TABLE IF EXISTS ${stage}; CREATE TEMP TABLE ${q(stageTable)} (${stageDefs.join(', ')}) ON COMMIT DROP`,
    dedupeStage: `DELETE FROM ${stage} a USING ${stage} b WHERE a.source_table = b.source_table AND a.source_key = b.source_key AND a.ord < b.ord`,
    decideTable,
    createDecide,
    decide: named(decide),
    counts,
    undo: named(undo),
    update: named(update),
    touch: named(touch),
    insert: named(insert),
    markMissing: named(markMissing),
    directColumns: insertCols,
    anyStored: named(`SELECT EXISTS (SELECT 1 FROM ${target} WHERE source_env = :env::text AND source_id = :source_id::text) AS stored`),
  };
}
