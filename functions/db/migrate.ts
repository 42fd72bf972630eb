// The forward-only migrator: applies schema/migrations/NNN_verb_object[.dialect].sql in order, each
// in its own transaction under an advisory lock, records name + sha256 + dialect, and refuses
// edited or deleted history. Dialect variants of one step: NNN_x.pgvector.sql / .ruvector.sql / .none.sql.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database, DatabaseConnection, Queryable } from './database.js';
import { LOCK_NAMES, advisoryXactLock } from './advisory-lock.js';
import { type VectorDialect, VECTOR_DIALECTS, dialectSql, isVectorDialect } from './dialect.js';
import { detectDialect, ensureDialectExtension } from './dialects/detect-dialect.js';
import { MigratedDatabase } from './migrated-database.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import { expectedSchema, schemaDrift } from './schema-drift.js';

export interface MigrationFile {
  /** File name, e.g. `003_add_embedding_columns.ruvector.sql`. */
  file: string;
  /** The dialect this variant is for; null for a step that is the same everywhere. */
  dialect: VectorDialect | null;
  sql: string;
  /** sha256 hex of the file (line endings normalised to \n). */
  checksum: string;
}

export interface MigrationStep {
  /** Step name as recorded, e.g. `003_add_embedding_columns`. */
  name: string;
  files: MigrationFile[];
}

export interface MigrateOptions {
  /** Force a dialect (else: the recorded one, else detected). Must match a recorded one. */
  dialect?: VectorDialect;
  migrationsDir?: string;
}

export interface MigrateResult {
  /** Steps applied by this call, in order (empty when up to date). */
  applied: string[];
  dialect: VectorDialect;
}

const FILE_NAME = /^(\d{3})_([a-z0-9]+(?:_[a-z0-9]+)*?)(?:\.(pgvector|ruvector|none))?\.sql$/;

const BOOTSTRAP_SQL = `
CREATE SCHEMA IF NOT EXISTS aqe;
CREATE TABLE IF NOT EXISTS aqe.schema_migrations (
  name text PRIMARY KEY,
  checksum text NOT NULL,
  dialect text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
);`;

/**
 * schema/migrations, found from this module: from source (functions/db → ../../schema) and from
 * dist/ (dist/functions/db → ../../schema when the build copies the .sql files, else the package
 * root's schema/migrations).
 */
export function defaultMigrationsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, '../../schema/migrations'), path.resolve(here, '../../../schema/migrations')];
  return candidates.find((dir) => existsSync(dir)) ?? (candidates[0] as string);
}

export function migrationChecksum(sql: string): string {
  return createHash('sha256').update(sql.replace(/\r\n/g, '\n'), 'utf8').digest('hex');
}

/** Reads and validates the migration files of `dir`, grouped into steps in order. */
export async function loadMigrations(dir: string = defaultMigrationsDir()): Promise<MigrationStep[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  } catch (err) {
    throw new AppError('MIGRATION_FAILED', `migrations directory ${dir}: cannot read it (${errorMessage(err)}). Check the path (or that the build copied schema/migrations).`, { cause: err });
  }
  const steps = new Map<string, MigrationStep>();
  const numbers = new Map<string, string>();
  for (const file of names) {
    const m = FILE_NAME.exec(file);
    if (!m) throw new AppError('MIGRATION_FAILED', `migration file ${file}: expected NNN_verb_object.sql or NNN_verb_object.<pgvector|ruvector|none>.sql`);
    const name = `${m[1]}_${m[2]}`;
    const other = numbers.get(m[1] as string);
    if (other !== undefined && other !== name) throw new AppError('MIGRATION_FAILED', `migration files ${other} and ${name} share the number ${m[1]}: renumber the newer one`);
    numbers.set(m[1] as string, name);
    const sql = await readFile(path.join(dir, file), 'utf8');
    const dialect = (m[3] ?? null) as VectorDialect | null;
    const step = steps.get(name) ?? { name, files: [] };
    step.files.push({ file, dialect, sql, checksum: migrationChecksum(sql) });
    steps.set(name, step);
  }
  const out = [...steps.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const step of out) {
    const variants = step.files.filter((f) => f.dialect !== null);
    if (variants.length > 0 && variants.length !== step.files.length) {
      throw new AppError('MIGRATION_FAILED', `migration ${step.name}: has both a common file and dialect variants; use either ${step.name}.sql or one file per dialect`);
    }
    if (variants.length > 0) {
      const missing = VECTOR_DIALECTS.filter((d) => !variants.some((f) => f.dialect === d));
      if (missing.length > 0) throw new AppError('MIGRATION_FAILED', `migration ${step.name}: dialect variants missing: ${missing.map((d) => `${step.name}.${d}.sql`).join(', ')}`);
    }
  }
  return out;
}

/** The file of `step` that applies to `dialect`. */
export function migrationFileFor(step: MigrationStep, dialect: VectorDialect): MigrationFile {
  const file = step.files.find((f) => f.dialect === null || f.dialect === dialect);
  if (!file) throw new AppError('MIGRATION_FAILED', `migration ${step.name}: no file for dialect ${dialect}`);
  return file;
}

interface AppliedRow {
  name: string;
  checksum: string;
  dialect: string;
}

async function readApplied(tx: Queryable): Promise<AppliedRow[]> {
  return (await tx.query<AppliedRow>('SELECT name, checksum, dialect FROM aqe.schema_migrations ORDER BY name')).rows;
}

function recordedDialect(rows: AppliedRow[]): VectorDialect | null {
  const dialects = [...new Set(rows.map((r) => r.dialect))];
  if (dialects.length === 0) return null;
  const d = dialects[0];
  if (dialects.length > 1 || !isVectorDialect(d)) {
    throw new AppError('MIGRATION_HISTORY_EDITED', `aqe.schema_migrations records dialect(s) ${dialects.join(', ')}: expected exactly one of ${VECTOR_DIALECTS.join(', ')}. The history table was edited; restore it from a backup.`);
  }
  return d;
}

/** Throws MIGRATION_HISTORY_EDITED when applied history and the files disagree. */
export function verifyHistory(applied: AppliedRow[], steps: MigrationStep[], dialect: VectorDialect, dir: string): void {
  const byName = new Map(steps.map((s) => [s.name, s]));
  for (const row of applied) {
    const step = byName.get(row.name);
    if (!step) {
      throw new AppError(
        'MIGRATION_HISTORY_EDITED',
        `migration ${row.name} is recorded as applied but no file ${row.name}.sql (or dialect variant) exists in ${dir}: applied migrations are never deleted or renamed. Restore the file (e.g. git checkout it).`,
        { details: { migration: row.name } },
      );
    }
    const file = migrationFileFor(step, dialect);
    if (file.checksum !== row.checksum) {
      throw new AppError(
        'MIGRATION_HISTORY_EDITED',
        `migration file ${file.file} was edited after it was applied (recorded sha256 ${row.checksum.slice(0, 12)}…, file now ${file.checksum.slice(0, 12)}…): applied migrations are history. Restore the file (e.g. git checkout it) and put the change in a new migration NNN_verb_object.sql.`,
        { details: { migration: row.name, file: file.file } },
      );
    }
  }
  const last = applied.at(-1)?.name;
  if (last !== undefined) {
    const appliedNames = new Set(applied.map((r) => r.name));
    const early = steps.find((s) => !appliedNames.has(s.name) && s.name < last);
    if (early) {
      throw new AppError(
        'MIGRATION_HISTORY_EDITED',
        `migration ${early.name} is new but sorts before the applied ${last}: migrations are forward-only. Renumber it after ${last}.`,
        { details: { migration: early.name } },
      );
    }
  }
}

/**
 * Brings `db` to the newest schema. Safe to run concurrently (every step runs under an advisory
 * transaction lock and re-checks whether it is applied) and idempotent.
 *
 * @example const { applied, dialect } = await migrate(db); // dialect: 'pgvector' on PGlite
 */
export async function migrate(db: DatabaseConnection, options: MigrateOptions = {}): Promise<MigrateResult> {
  const dir = options.migrationsDir ?? defaultMigrationsDir();
  const steps = await loadMigrations(dir);

  const dialect = await db.transaction(async (tx) => {
    await advisoryXactLock(tx, LOCK_NAMES.migrate);
    // No DDL when the history table exists: a role with only read/write rights on aqe (the
    // loaders, once an administrator set the schema up) can migrate-check and load.
    const bootstrapped = (await tx.query<{ t: string | null }>(`SELECT to_regclass('aqe.schema_migrations')::text AS t`)).rows[0]?.t;
    if (!bootstrapped) await tx.exec(BOOTSTRAP_SQL);
    const applied = await readApplied(tx);
    const recorded = recordedDialect(applied);
    if (recorded) {
      if (options.dialect && options.dialect !== recorded) {
        throw new AppError('MIGRATION_FAILED', `this database was migrated with vector dialect "${recorded}"; cannot switch to "${options.dialect}" (the columns have that type). Omit the dialect option or use a new database.`);
      }
      verifyHistory(applied, steps, recorded, dir);
      return recorded;
    }
    if (options.dialect) {
      await ensureDialectExtension(tx, options.dialect);
      return options.dialect;
    }
    return detectDialect(tx);
  });

  const applied: string[] = [];
  for (const step of steps) {
    const file = migrationFileFor(step, dialect);
    const did = await db.transaction(async (tx) => {
      await advisoryXactLock(tx, LOCK_NAMES.migrate);
      const done = await tx.query('SELECT 1 FROM aqe.schema_migrations WHERE name = $1', [step.name]);
      if (done.rowCount > 0) return false;
      try {
        await tx.exec(file.sql);
      } catch (err) {
        const transient = err instanceof AppError && err.transient;
        throw new AppError('MIGRATION_FAILED', `migration ${file.file} failed: ${errorMessage(err)}. Nothing of this step was applied; fix the cause (or the file, if it was never applied anywhere) and rerun.`, { cause: err, transient, details: { migration: step.name, file: file.file } });
      }
      await tx.query('INSERT INTO aqe.schema_migrations (name, checksum, dialect) VALUES ($1, $2, $3)', [step.name, file.checksum, dialect]);
      return true;
    });
    if (did) applied.push(step.name);
  }

  await db.transaction(async (tx) => {
    const exists = await tx.query<{ t: string | null }>(`SELECT to_regclass('aqe.settings')::text AS t`);
    if (!exists.rows[0]?.t) return;
    // Written only when it differs: an INSERT, even one that changes nothing, fails in a read-only
    // transaction, and the operators' read-only role (aqe_reader) checks the migrations too.
    const current = await tx.query<{ value: string }>(`SELECT value FROM aqe.settings WHERE key = 'vector_dialect'`);
    if (current.rows[0]?.value === dialect) return;
    await tx.query(
      `INSERT INTO aqe.settings (key, value) VALUES ('vector_dialect', $1)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now() WHERE aqe.settings.value IS DISTINCT FROM EXCLUDED.value`,
      [dialect],
    );
  });
  // what the migrations built must still be there: a table, column or index dropped by hand is
  // named here instead of "up to date" followed by failing loads
  const problems = await schemaDrift(db, expectedSchema(steps, dialect));
  if (problems.length > 0) {
    throw new AppError(
      'DB_SCHEMA',
      `the aqe schema differs from what its migrations built (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'Loads stop until it is repaired: restore the objects from a backup, or re-create them with the statements named above (as the schema owner), then run `aqe-upload migrate` again.',
      { details: { problems } },
    );
  }
  return { applied, dialect };
}

/** The dialect a migrated database uses (aqe.settings), or null before the first migration. */
export async function readDialect(db: Queryable): Promise<VectorDialect | null> {
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('aqe.settings')::text AS t`);
  if (!exists.rows[0]?.t) return null;
  const res = await db.query<{ value: string }>(`SELECT value FROM aqe.settings WHERE key = 'vector_dialect'`);
  const v = res.rows[0]?.value;
  return isVectorDialect(v) ? v : null;
}

const migrated = new WeakMap<DatabaseConnection, Promise<Database>>();

/**
 * Migrates `connection` once per process and returns it as a `Database` carrying its dialect (the
 * same handle on every call; a `Database` is returned as it is). The migrator itself is idempotent
 * and locked; a failed attempt is tried again on the next call.
 * @example const db = await ensureMigrated(connection); db.dialect.dialect // 'pgvector' on PGlite
 */
export function ensureMigrated(connection: DatabaseConnection): Promise<Database> {
  if (connection instanceof MigratedDatabase) return Promise.resolve(connection);
  let p = migrated.get(connection);
  if (!p) {
    p = migrate(connection).then((r) => new MigratedDatabase(connection, dialectSql(r.dialect)));
    p.catch(() => migrated.delete(connection));
    migrated.set(connection, p);
  }
  return p;
}
