// Reads an agentic-qe / claude-flow SQLite snapshot file: checks it is SQLite and intact, discovers
// its tables and columns, skips internals and FTS tables, and streams each table's rows through
// its mapping. Opens read-only and never touches the journal mode.

import { closeSync, openSync, readSync } from 'node:fs';
import Database from 'better-sqlite3';
import { AppError, errorMessage, isAppError } from '../../../schema/errors.js';
import type { MapContext } from '../../../schema/sources/mappings/map-context.js';
import type { SqliteColumn, SqliteTablePlan } from '../../../schema/sources/mappings/sqlite-mappings.js';
import { PLAIN_IDENTIFIER, planSqliteTable, planSqliteVectors, SqliteRowMapper } from '../../../schema/sources/mappings/sqlite-mappings.js';
import { setOwn } from '../../../schema/sources/mappings/values.js';
import type { TargetRow } from '../../../schema/tables/target-tables.js';
import type { SkippedTable, SourceReadResult } from './source-read-result.js';
import { sourceReadResult } from './source-read-result.js';

const SQLITE_HEADER = Buffer.from('SQLite format 3\u0000', 'latin1');
/** Where `aqe-upload pull` records the rows it wrote into agentic-qe's database (uploader/ops/pull-patterns.ts). */
export const PULL_PROVENANCE_TABLE = 'aqe_sync_pulled';
/** Ids `aqe-upload pull` gives the rows it writes. */
export const PULLED_ID_PREFIX = 'aqe-pull-';
/**
 * Rows another environment published, pulled into this database: never published again as this
 * environment's own (they would come back as duplicates). Table → the column holding the pulled id.
 */
const PULLED_ROWS: Readonly<Record<string, string>> = { qe_patterns: 'id', qe_pattern_embeddings: 'pattern_id' };
const FTS_SHADOW_SUFFIXES = ['_data', '_idx', '_content', '_docsize', '_config', '_segments', '_segdir', '_stat'];

/** Throws SOURCE_CORRUPT unless the file starts with the SQLite header. */
export function assertSqliteHeader(file: string, label: string): void {
  const head = Buffer.alloc(16);
  let n = 0;
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    n = readSync(fd, head, 0, 16, 0);
  } catch (err) {
    throw new AppError('SOURCE_UNREADABLE', `${label}: cannot read the file (${errorMessage(err)}). Check that it exists and is readable.`, { cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (n < 16 || !head.equals(SQLITE_HEADER)) {
    throw new AppError(
      'SOURCE_CORRUPT',
      `${label}: expected a SQLite database (header "SQLite format 3\\0"), got ${n < 16 ? `a ${n}-byte file` : 'a file that does not start with it'}. The file is not SQLite (or is damaged); check its source path, restore the file, then push again.`,
      { details: { file: label } },
    );
  }
}

/**
 * Opens a SQLite snapshot read-only, runs `PRAGMA quick_check`, discovers and plans every table.
 * Throws SOURCE_CORRUPT (naming `label`, the source path) for a damaged or non-SQLite file and
 * VALUE_INVALID for a table name that is not a plain identifier.
 */
export function readSqliteSource(init: { sourceId: string; label: string; file: string; ctx: MapContext }): SourceReadResult {
  const { label, file, ctx } = init;
  assertSqliteHeader(file, label);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw corrupt(label, err, 'open');
  }
  try {
    let check: unknown[];
    try {
      check = db.pragma('quick_check') as unknown[];
    } catch (err) {
      throw corrupt(label, err, 'PRAGMA quick_check');
    }
    const problems = check.map((r) => String(Object.values(r as Record<string, unknown>)[0])).filter((m) => m !== 'ok');
    if (problems.length > 0) throw corrupt(label, new Error(problems.slice(0, 5).join('; ')), 'PRAGMA quick_check');

    const { plans, skipped } = discover(db, label);
    return sourceReadResult({
      sourceId: init.sourceId,
      path: label,
      warnings: ctx.warnings,
      skipped,
      parts: plans.map((plan) => ({
        sourceTable: plan.sourceTable,
        targetTable: plan.target,
        mapping: plan.mapping,
        read: () => readTable(db, plan, ctx, label),
      })),
      close: () => db.close(),
    });
  } catch (err) {
    db.close();
    throw err;
  }
}

function discover(db: Database.Database, label: string): { plans: ReadPlan[]; skipped: SkippedTable[] } {
  const objects = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string; sql: string | null }>;
  const skipped: SkippedTable[] = [];
  const virtual = new Map<string, boolean>();
  for (const o of objects) {
    const m = /^\s*CREATE\s+VIRTUAL\s+TABLE\s+.*?\bUSING\s+(\w+)/is.exec(o.sql ?? '');
    if (m) virtual.set(o.name, /^fts\d*$/i.test(m[1] ?? ''));
  }
  const plans: ReadPlan[] = [];
  const pulled = objects.some((o) => o.name === PULL_PROVENANCE_TABLE);
  for (const o of objects) {
    const name = o.name;
    if (name === PULL_PROVENANCE_TABLE) {
      skipped.push({ name, reason: 'aqe-upload pull\'s record of the rows it wrote here (they belong to the environments they came from)' });
      continue;
    }
    if (name.startsWith('sqlite_')) {
      skipped.push({ name, reason: 'SQLite internal table' });
      continue;
    }
    if (virtual.has(name)) {
      skipped.push({ name, reason: virtual.get(name) ? 'FTS virtual table (a search index over other tables)' : 'virtual table (needs its module; its data is not stored as rows)' });
      continue;
    }
    const ftsOwner = [...virtual.entries()].find(([vt, isFts]) => isFts && FTS_SHADOW_SUFFIXES.some((s) => name === `${vt}${s}`));
    if (ftsOwner) {
      skipped.push({ name, reason: `FTS shadow table of ${ftsOwner[0]}` });
      continue;
    }
    if (!PLAIN_IDENTIFIER.test(name)) {
      throw new AppError(
        'VALUE_INVALID',
        `${label}: table ${JSON.stringify(name)}: expected a plain identifier (letters, digits, "_"), got a name the tools never create. Inspect the file; drop or rename that table in a copy of the database if it is yours, then push again.`,
        { details: { file: label, table: name } },
      );
    }
    const info = db.pragma(`table_info("${name}")`) as Array<{ name: string; type: string; pk: number }>;
    const columns: SqliteColumn[] = info.map((c) => ({ name: c.name, type: c.type, pk: c.pk }));
    const pulledColumn = PULLED_ROWS[name];
    const notPulled = pulledColumn !== undefined && columns.some((c) => c.name === pulledColumn) ? { column: pulledColumn, provenance: pulled } : undefined;
    plans.push({ ...planSqliteTable(name, columns), ...(notPulled ? { notPulled } : {}) });
    const vectors = planSqliteVectors(name, columns);
    if (vectors) plans.push({ ...vectors, ...(notPulled ? { notPulled } : {}) });
  }
  return { plans, skipped };
}

/** A plan as the reader runs it: which rows are another environment's, pulled here. */
type ReadPlan = SqliteTablePlan & { notPulled?: { column: string; provenance: boolean } };

function* readTable(db: Database.Database, plan: ReadPlan, ctx: MapContext, label: string): Generator<TargetRow> {
  const quoted = (c: string) => `"${c.replaceAll('"', '""')}"`;
  const where: string[] = [];
  if (plan.onlyWhereNotNull !== undefined) where.push(`${quoted(plan.onlyWhereNotNull)} IS NOT NULL`);
  if (plan.notPulled) {
    const c = quoted(plan.notPulled.column);
    // (constants only: the prefix has no LIKE wildcard but "_"-free text, escaped anyway)
    where.push(`coalesce(substr(${c}, 1, ${PULLED_ID_PREFIX.length}) <> '${PULLED_ID_PREFIX}', 1)`);
    if (plan.notPulled.provenance) where.push(`${c} NOT IN (SELECT local_id FROM ${PULL_PROVENANCE_TABLE} WHERE local_id IS NOT NULL)`);
  }
  const filter = where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '';
  // Keyless tables are read in a total order so identical rows sit together and get stable `#n` keys.
  // BINARY: under a column's own collation (NOCASE, RTRIM) "a" and "A" sort as equal and could split
  // two identical rows, which then got the same key and one was lost in the merge.
  const order = plan.keyColumns.length === 0 && plan.columns.length > 0 ? ` ORDER BY ${plan.columns.map((c) => `${quoted(c)} COLLATE BINARY`).join(', ')}` : '';
  const mapper = new SqliteRowMapper(plan, ctx);
  let stmt: Database.Statement;
  try {
    stmt = db.prepare(`SELECT * FROM ${quoted(plan.sourceTable)}${filter}${order}`);
  } catch (err) {
    throw corrupt(label, err, `reading table "${plan.sourceTable}"`);
  }
  stmt.safeIntegers(true);
  // Rows are read as arrays and made objects here: ~20% faster than the driver's objects, and a
  // column named "__proto__" stays an own member (the driver made it the row's prototype).
  const names = stmt.raw(true).columns().map((c) => c.name);
  const it = stmt.iterate() as IterableIterator<unknown[]>;
  try {
    while (true) {
      let next: IteratorResult<unknown[]>;
      try {
        next = it.next();
      } catch (err) {
        throw corrupt(label, err, `reading table "${plan.sourceTable}"`);
      }
      if (next.done) return;
      yield mapper.map(ownMembers(names, next.value));
    }
  } finally {
    // Ends the statement when the consumer stops early or a row is refused (frees the connection).
    it.return?.();
  }
}

function ownMembers(names: readonly string[], values: readonly unknown[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (name === '__proto__') setOwn(row, name, values[i]);
    else row[name] = values[i];
  }
  return row;
}

function corrupt(label: string, err: unknown, during: string): AppError {
  if (isAppError(err)) return err;
  return new AppError(
    'SOURCE_CORRUPT',
    `${label}: expected an intact SQLite database, got an error during ${during}: ${errorMessage(err)}. The copy is damaged (or was taken without its -wal); capture the source again (\`aqe-upload push\`), and if it persists run "sqlite3 <file> '.recover'" on the original.`,
    { cause: err, details: { file: label } },
  );
}
