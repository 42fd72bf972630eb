// Which vector dialect a database supports, and installing its extension: decided from what each
// dialect module says about itself (its extension and vector type), in the order of preference
// of db/dialect.ts VECTOR_DIALECTS (ruvector first: it is the production image).
import type { Queryable } from '../database.js';
import { dialectSql, VECTOR_DIALECTS } from '../dialect.js';
import { AppError } from '../../../schema/errors.js';
import type { DialectSql, VectorDialect } from './dialect-sql.js';

const ALL: readonly DialectSql[] = VECTOR_DIALECTS.map(dialectSql);
const WITH_EXTENSION = ALL.filter((d): d is DialectSql & { extension: string } => d.extension !== null);

/**
 * Which vector dialect `db` supports, per notes/ruvector.md §1.10: an installed extension wins;
 * otherwise an available one is created (ruvector preferred); else `none`. Never installs two
 * (ruvector and pgvector share the `hnsw` access method name).
 */
export async function detectDialect(db: Queryable, options: { create?: boolean } = {}): Promise<VectorDialect> {
  const extensions = WITH_EXTENSION.map((d) => d.extension);
  const installed = (await db.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname = ANY($1::text[])`, [extensions])).rows.map((r) => r.extname);
  const present = WITH_EXTENSION.filter((d) => installed.includes(d.extension));
  if (present.length > 1) {
    throw new AppError('DB_SCHEMA', `extensions ${present.map((d) => `"${d.extension}"`).join(' and ')} are both installed in this database; they cannot coexist (both define the hnsw access method). Drop one of them.`);
  }
  if (present[0]) return confirm(db, present[0]);
  const available = (await db.query<{ name: string }>(`SELECT name FROM pg_available_extensions WHERE name = ANY($1::text[])`, [extensions])).rows.map((r) => r.name);
  const pick = WITH_EXTENSION.find((d) => available.includes(d.extension));
  if (!pick) return ALL.find((d) => d.extension === null)!.dialect;
  if (options.create === false) return pick.dialect;
  await ensureDialectExtension(db, pick.dialect);
  return confirm(db, pick);
}

/** CREATE EXTENSION IF NOT EXISTS for the dialect (nothing for one without an extension). */
export async function ensureDialectExtension(db: Queryable, dialect: VectorDialect): Promise<void> {
  const ext = dialectSql(dialect).extension;
  if (ext === null) return;
  const others = WITH_EXTENSION.filter((d) => d.extension !== ext);
  const clash = await db.query<{ extname: string }>(`SELECT extname FROM pg_extension WHERE extname = ANY($1::text[])`, [others.map((d) => d.extension)]);
  const other = others.find((d) => d.extension === clash.rows[0]?.extname);
  if (other) {
    throw new AppError('DB_SCHEMA', `cannot use dialect "${dialect}": extension "${other.extension}" is installed in this database and the two cannot coexist. Use dialect "${other.dialect}" or drop "${other.extension}".`);
  }
  try {
    await db.exec(`CREATE EXTENSION IF NOT EXISTS ${ext}`);
  } catch (err) {
    throw new AppError('DB_SCHEMA', `dialect "${dialect}" needs extension "${ext}" but CREATE EXTENSION failed: ${err instanceof Error ? err.message : String(err)}. Install it on the server, or use dialect "none".`, { cause: err });
  }
}

async function confirm(db: Queryable, sql: DialectSql): Promise<VectorDialect> {
  const res = await db.query<{ t: string | null }>(`SELECT to_regtype($1)::text AS t`, [sql.vectorType]);
  if (!res.rows[0]?.t) {
    throw new AppError('DB_SCHEMA', `extension for dialect "${sql.dialect}" is installed but type "${sql.vectorType}" is missing; reinstall the extension.`);
  }
  return sql.dialect;
}
