// Merges one source's rows of one target table inside the snapshot's transaction: encode →
// COPY into a TEMP staging table → dedupe (last wins) → one set-based merge (merge-sql.ts) →
// mark rows gone missing. Returns every decision counted.
//
// Fast path: when the environment has no stored row of this source in the table (its first load,
// or a source new to it), every row is an insert and nothing can be missing, so the rows are
// COPYed straight into the target under a savepoint (one write of each row instead of three:
// staging, decisions, target). A key given twice in the snapshot makes that COPY fail with a
// unique violation; the savepoint is rolled back and the rows are read again through staging.
import { createHash, hash as oneShotHash } from 'node:crypto';
import type { DialectQueryable, Queryable, SqlParam } from '../../db/database.js';
import { type DialectSql, EMBEDDING_DIM } from '../../db/dialect.js';
import { type EncodeStats, encodeCopyValue, encodeVectorLiteral, escapeCopyText, isZeroVector, jsonText, newEncodeStats, isAsyncIterable, quoteIdent, sha256CopyText } from '../../db/copy-encoding.js';
import { classifyDbError } from '../../db/pg-error-kind.js';
import { type MergeCountsRow, type MergeSql, type ParamName, type Statement, bindStatement, buildMergeSql } from './merge-sql.js';
import { NO_FUTURE_BOUND } from '../policy/snapshot-clock.js';
import { AppError, errorMessage } from '../../../schema/errors.js';
import type { TargetRow, TargetTable } from '../../../schema/tables/target-tables.js';

/** What the merge decided for the rows of one table (read = inserted + updated + unchanged + keptNewer + duplicates). */
export interface TableMergeCounts {
  /** Rows given. */
  read: number;
  /** Rows whose key was given again later in the same call (the last one is merged). */
  duplicates: number;
  inserted: number;
  /** Content changed and the staged row won (pre-image in undo_log). */
  updated: number;
  /** Same content hash (includes rows that only got their embedding filled or reappeared). */
  unchanged: number;
  /** Stored row kept: newer source_updated_at, higher confidence, later snapshot, or immutable. */
  keptNewer: number;
  /** Subset of keptNewer: an immutable row arrived with different content. */
  immutableConflicts: number;
  /** Rows of fully captured source tables that are no longer in the snapshot (missing_since set). */
  missing: number;
  /** Missing rows that came back (missing_since cleared). */
  reappeared: number;
  /** Unchanged rows waiting for an embedding that the staged row brought. */
  embeddingsFilled: number;
  /** NUL characters removed from text (PostgreSQL text cannot hold them). */
  nulStripped: number;
}

export function emptyCounts(): TableMergeCounts {
  return { read: 0, duplicates: 0, inserted: 0, updated: 0, unchanged: 0, keptNewer: 0, immutableConflicts: 0, missing: 0, reappeared: 0, embeddingsFilled: 0, nulStripped: 0 };
}

/** Field-wise sum. */
export function addCounts(a: TableMergeCounts, b: TableMergeCounts): TableMergeCounts {
  const out = emptyCounts();
  for (const k of Object.keys(out) as (keyof TableMergeCounts)[]) out[k] = a[k] + b[k];
  return out;
}

export interface MergeTableRowsInput {
  runId: number;
  env: string;
  sourceId: string;
  /** The snapshot's order time: when the store created its manifest (orders "later snapshot wins"). */
  snapshotAt: Date;
  /**
   * Stored or staged times after this came from a clock that ran ahead and count as unknown
   * (snapshot-clock.ts futureBound). Default: none is refused.
   */
  futureBound?: Date;
  table: TargetTable;
  /**
   * The rows, or a function that reads them (again) from the start. Re-readable rows (a function
   * or an array) allow the direct-COPY fast path; a one-shot iterator always goes through staging.
   */
  rows: RowSource;
  /**
   * source_table values this snapshot captured completely: their stored rows not given are marked
   * missing. A function is asked after the rows were read (a reader learns only then whether its
   * read was complete: an incomplete read never marks a row missing).
   */
  fullSourceTables?: readonly string[] | (() => readonly string[]);
  /** The mappings changed since this source was last read: immutable rows take the new reading. */
  remap?: boolean;
  /**
   * A newer snapshot of this source was already loaded: rows this one lacks are not marked
   * missing, rows it inserts are born missing (the newer snapshot did not have them).
   */
  late?: boolean;
}

type RowIterable = AsyncIterable<TargetRow> | Iterable<TargetRow>;
export type RowSource = RowIterable | (() => RowIterable);

/** sha256 hex of a row's search text (embedding_text_hash). */
export function searchTextHash(text: string): string {
  // crypto.hash (Node ≥ 20.12; same digest) avoids a Hash object per row
  return typeof oneShotHash === 'function' ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text, 'utf8').digest('hex');
}

const toNumber = (v: number | string | bigint | undefined): number => Number(v ?? 0);

/**
 * Merges `rows` into `aqe.<table>` for (env, sourceId), in the caller's transaction `tx` (which
 * should hold lockEnvironment). Call once per (sourceId, table) per snapshot with all its rows.
 *
 * @example
 * const counts = await mergeTableRows(tx, { runId, env: 'laptop', sourceId: 'v3-memory', snapshotAt,
 *   table: targetTable('patterns'), rows, fullSourceTables: ['patterns'] });
 */
export async function mergeTableRows(tx: DialectQueryable, input: MergeTableRowsInput): Promise<TableMergeCounts> {
  const { table } = input;
  const sql = buildMergeSql(table, tx.dialect);
  const values: Record<ParamName, unknown> = {
    env: input.env,
    source_id: input.sourceId,
    run_id: String(input.runId),
    snapshot_at: input.snapshotAt,
    table_name: table.name,
    source_tables: [],
    late: input.late === true,
    remap: input.remap === true,
    future_bound: input.futureBound ?? NO_FUTURE_BOUND,
  };
  const run = (stmt: Statement, more: Partial<Record<ParamName, unknown>> = {}) => tx.query(stmt.text, bindStatement(stmt, { ...values, ...more }) as SqlParam[]);
  const rereadable = typeof input.rows === 'function' || Array.isArray(input.rows);
  const rows = (): RowIterable => (typeof input.rows === 'function' ? input.rows() : input.rows);

  if (rereadable) {
    const stored = (await run(sql.anyStored)).rows[0] as { stored?: boolean } | undefined;
    if (stored?.stored === false) {
      const direct = await copyDirect(tx, input, sql, rows());
      if (direct) return direct;
    }
  }
  return mergeThroughStaging(tx, input, sql, rows(), run);
}

/**
 * The fast path: COPY into the target itself (the source has no stored rows). Returns null when
 * the snapshot holds a key twice (the savepoint is rolled back; the caller stages instead).
 */
async function copyDirect(tx: DialectQueryable, input: MergeTableRowsInput, sql: MergeSql, rows: RowIterable): Promise<TableMergeCounts | null> {
  const stats = newEncodeStats();
  // now() of the transaction: rows of a late snapshot are born missing, as on the staging path
  const missingSince = input.late === true ? String((await tx.query<{ now: string }>(`SELECT now()::text AS now`)).rows[0]?.now) : null;
  const prefix = [escapeCopyText(input.env, stats), escapeCopyText(input.sourceId, stats)];
  const suffix = [String(input.runId), String(input.runId), input.snapshotAt.toISOString(), missingSince];
  await tx.exec('SAVEPOINT aqe_direct_copy');
  let copied: number;
  try {
    const rebuild = await deferIndexesIfEmpty(tx, input.table.name);
    copied = await tx.copyRows(`aqe.${input.table.name}`, sql.directColumns, encodeRows(input, rows, stats, { prefix, suffix, dialect: tx.dialect }));
    // a duplicate key fails here (unique violation) when the indexes were deferred
    for (const statement of rebuild) await tx.exec(statement);
  } catch (err) {
    if (!isUniqueViolation(err)) throw err;
    await tx.exec('ROLLBACK TO SAVEPOINT aqe_direct_copy');
    return null;
  }
  await tx.exec('RELEASE SAVEPOINT aqe_direct_copy');
  const counts = emptyCounts();
  counts.read = copied;
  counts.inserted = copied;
  counts.nulStripped = stats.nulStripped;
  return counts;
}

/**
 * When the target table is completely empty (a new database's first load), its indexes are
 * dropped for the COPY and built afterwards from the sorted data, as pg_restore and pgloader do:
 * about half the cost of maintaining a 4-column text key row by row. Needs the table's ACCESS
 * EXCLUSIVE lock, taken with NOWAIT: if anyone else uses the table (another environment's load,
 * a search), nothing is deferred. All of it is transactional (undone with the savepoint).
 * Returns the statements that rebuild what was dropped (none when nothing was).
 */
export async function deferIndexesIfEmpty(tx: Queryable, tableName: string): Promise<string[]> {
  const t = `aqe.${quoteIdent(tableName)}`;
  const empty = async () => (await tx.query<{ empty: boolean }>(`SELECT NOT EXISTS (SELECT 1 FROM ${t}) AS empty`)).rows[0]?.empty === true;
  if (!(await empty())) return [];
  // dropping and re-adding indexes is DDL: only for the table's owner (a role with read/write
  // rights only loads without it, maintaining the indexes row by row)
  const owner = await tx.query<{ owns: boolean }>(`SELECT pg_has_role(current_user, c.relowner, 'USAGE') AS owns FROM pg_class c WHERE c.oid = $1::regclass`, [t]);
  if (owner.rows[0]?.owns !== true) return [];
  await tx.exec('SAVEPOINT aqe_defer_indexes');
  try {
    await tx.exec(`LOCK TABLE ${t} IN ACCESS EXCLUSIVE MODE NOWAIT`);
  } catch (err) {
    if (classifyDbError(err).sqlstate !== '55P03' && (err as { details?: { sqlstate?: unknown } }).details?.sqlstate !== '55P03') throw err;
    await tx.exec('ROLLBACK TO SAVEPOINT aqe_defer_indexes');
    return [];
  }
  await tx.exec('RELEASE SAVEPOINT aqe_defer_indexes');
  // rows committed between the check and the lock
  if (!(await empty())) return [];
  const constraints = await tx.query<{ name: string; def: string }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('p', 'u') ORDER BY contype, conname`,
    [t],
  );
  const indexes = await tx.query<{ name: string; def: string }>(
    `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def FROM pg_index i
     WHERE i.indrelid = $1::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
     ORDER BY 1`,
    [t],
  );
  // the rebuild sorts every row of the table in one go: room for 1M keys without spilling to disk
  // (SET LOCAL: this transaction only)
  const rebuild: string[] = [`SET LOCAL maintenance_work_mem = '256MB'`];
  for (const c of constraints.rows) {
    await tx.exec(`ALTER TABLE ${t} DROP CONSTRAINT ${quoteIdent(c.name)}`);
    rebuild.push(`ALTER TABLE ${t} ADD CONSTRAINT ${quoteIdent(c.name)} ${c.def}`);
  }
  for (const i of indexes.rows) {
    await tx.exec(`DROP INDEX ${i.name}`);
    rebuild.push(i.def);
  }
  return rebuild;
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; details?: { sqlstate?: unknown }; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.code === '23505' || e.details?.sqlstate === '23505') return true;
  return e.cause !== undefined && e.cause !== err && isUniqueViolation(e.cause);
}

async function mergeThroughStaging(
  tx: Queryable,
  input: MergeTableRowsInput,
  sql: MergeSql,
  rows: RowIterable,
  run: (stmt: Statement, more?: Partial<Record<ParamName, unknown>>) => Promise<{ rows: unknown[]; rowCount: number }>,
): Promise<TableMergeCounts> {
  const { table } = input;
  const stats = newEncodeStats();
  const counts = emptyCounts();

  // A snapshot stages every row of its source, so hash joins are right; and the target's stats
  // are stale right after a big load (same transaction, or before autovacuum), which makes the
  // planner pick nested loops over seq scans (measured: 20K unchanged rows took 62 s). So no
  // nested loops for these statements; the previous setting is restored afterwards.
  const was = (await tx.query<{ v: string }>(`SELECT current_setting('enable_nestloop') AS v`)).rows[0]?.v ?? 'on';
  await tx.query(`SELECT set_config('enable_nestloop', 'off', true)`);
  await tx.exec(sql.createStage);
  const staged = await tx.copyRows(`pg_temp.${sql.stageTable}`, sql.stageColumns, encodeRows(input, rows, stats, null));
  counts.read = staged;
  // duplicates counted by the database, not in a JS set (a key per row cost ~80 MB at 1M rows)
  const dup = await tx.query<{ n: number | string }>(
    `SELECT count(*) - (SELECT count(*) FROM (SELECT DISTINCT source_table, source_key FROM pg_temp.${sql.stageTable}) k) AS n FROM pg_temp.${sql.stageTable}`,
  );
  counts.duplicates = toNumber(dup.rows[0]?.n);
  if (counts.duplicates > 0) await tx.query(sql.dedupeStage);

  await tx.exec(sql.createDecide);
  await run(sql.decide);
  const r = (await tx.query<MergeCountsRow>(sql.counts)).rows[0];
  if (!r) throw new AppError('INTERNAL', `merge into aqe.${table.name} returned no counts`);
  const toLog = toNumber(r.to_log);
  // pre-images first: they must see the rows before the update
  if (toLog > 0) await run(sql.undo);
  counts.updated = toNumber(r.to_update) > 0 ? (await run(sql.update)).rowCount : 0;
  const touched = toNumber(r.to_touch) > 0 ? (await run(sql.touch)).rowCount : 0;
  counts.inserted = toNumber(r.to_insert) > 0 ? (await run(sql.insert)).rowCount : 0;
  counts.unchanged = toNumber(r.unchanged);
  counts.keptNewer = toNumber(r.kept_newer);
  counts.immutableConflicts = toNumber(r.immutable_conflicts);
  counts.embeddingsFilled = toNumber(r.embeddings_filled);
  counts.reappeared = toNumber(r.reappeared);
  if (counts.updated !== toNumber(r.to_update) || counts.inserted !== toNumber(r.to_insert) || touched !== toNumber(r.to_touch)) {
    // only possible if another writer changed these rows: lockEnvironment was not taken
    throw new AppError('DB_CONFLICT', `merge into aqe.${table.name}: rows changed concurrently (planned ${r.to_insert} inserts / ${r.to_update} updates, did ${counts.inserted} / ${counts.updated}); take lockEnvironment first`, { transient: true });
  }

  const full = typeof input.fullSourceTables === 'function' ? input.fullSourceTables() : (input.fullSourceTables ?? []);
  if (!input.late && full.length > 0) {
    const m = await run(sql.markMissing, { source_tables: [...full] });
    counts.missing = toNumber((m.rows[0] as { missing?: number | string } | undefined)?.missing);
  }
  await tx.query(`SELECT set_config('enable_nestloop', $1, true)`, [was]);
  counts.nulStripped = stats.nulStripped;
  return counts;
}

/** How a row is framed for a direct COPY into the target (null: staging, with an `ord` first). */
interface DirectFrame {
  prefix: (string | null)[];
  suffix: (string | null)[];
  dialect: DialectSql;
}

/** The COPY values of every row (sync rows stay sync: no microtask per row). */
function encodeRows(input: MergeTableRowsInput, rows: RowIterable, stats: EncodeStats, direct: DirectFrame | null): Iterable<(string | null)[]> | AsyncIterable<(string | null)[]> {
  const encode = rowEncoder(input, stats, direct);
  if (isAsyncIterable(rows)) {
    return (async function* () {
      for await (const row of rows) yield encode(row);
    })();
  }
  return (function* () {
    for (const row of rows) yield encode(row);
  })();
}

function rowEncoder(input: MergeTableRowsInput, stats: EncodeStats, direct: DirectFrame | null): (row: TargetRow) => (string | null)[] {
  const { table } = input;
  const known = new Set(table.columns.map((c) => c.name));
  let ord = 0;
  // (a function of the row, not a closure made per row: this runs for every row)
  const where = (row: TargetRow) => `aqe.${table.name} row ${JSON.stringify(row.sourceTable)}/${JSON.stringify(row.sourceKey)}`;
  return (row) => {
    if (row.table !== table.name) throw new AppError('INTERNAL', `${where(row)}: row is for table "${row.table}", merged into "${table.name}"`);
    if (typeof row.sourceKey !== 'string' || typeof row.sourceTable !== 'string' || typeof row.contentHash !== 'string') {
      throw new AppError('VALUE_INVALID', `${where(row)}: sourceTable, sourceKey and contentHash must be strings`);
    }
    for (const k in row.values) {
      if (!known.has(k)) throw new AppError('INTERNAL', `${where(row)}: value "${k}" is not a column of aqe.${table.name}; put unmodelled columns in \`extra\``);
    }

    // (pushes, not spreads: this runs for every row)
    const out: (string | null)[] = [];
    if (direct) for (const v of direct.prefix) out.push(v);
    else out.push(String(ord++));
    out.push(escapeCopyText(row.sourceTable, stats), escapeCopyText(row.sourceKey, stats));
    try {
      // a sha256 hex, stored as its 32 bytes (migration 025)
      out.push(sha256CopyText(row.contentHash));
      out.push(encodeCopyValue(row.sourceUpdatedAt, 'timestamptz', stats));
      out.push(row.extra === null || row.extra === undefined ? null : escapeCopyText(jsonText(row.extra, stats), stats));
      for (const c of table.columns) out.push(encodeCopyValue(row.values[c.name], c.type, stats));
      if (table.embedded) pushEmbedding(out, row, stats, direct);
    } catch (err) {
      if (err instanceof AppError) throw new AppError(err.code, `${where(row)}: ${err.message}`, { cause: err, details: err.details ?? {} });
      throw new AppError('VALUE_INVALID', `${where(row)}: ${errorMessage(err)}`, { cause: err });
    }
    if (direct) for (const v of direct.suffix) out.push(v);
    return out;
  };
}

/**
 * Appends search_text, embedding ('[…]' text staged and cast in SQL; COPYed directly, the column's
 * own text form), embedding_model, embedding_text_hash, embedding_status.
 */
function pushEmbedding(out: (string | null)[], row: TargetRow, stats: EncodeStats, direct: DirectFrame | null): void {
  const text = typeof row.searchText === 'string' && hasNonSpace(row.searchText) ? row.searchText : null;
  // (searchTextHash is always 64 lowercase hex: its bytea text needs no check)
  const textHash = text === null ? null : `\\\\x${searchTextHash(text)}`;
  const escaped = text === null ? null : escapeCopyText(text, stats);
  const e = row.embedding;
  if (e) {
    const literal = encodeVectorLiteral(e.vector, EMBEDDING_DIM);
    // a zero vector has no direction (cosine undefined; ruvector's index errors on it): never stored
    if (isZeroVector(e.vector)) out.push(escaped, null, escapeCopyText(e.model, stats), textHash, 'failed');
    else out.push(escaped, direct ? direct.dialect.copyColumnText(literal) : literal, escapeCopyText(e.model, stats), textHash, 'done');
    return;
  }
  out.push(escaped, null, null, textHash, text === null ? 'none' : 'pending');
}

/** Same as `text.trim() !== ''`, without making the trimmed copy when the text starts with a printable ASCII character. */
function hasNonSpace(text: string): boolean {
  const c = text.charCodeAt(0);
  return (c > 32 && c < 127) || text.trim() !== '';
}
