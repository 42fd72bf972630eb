// The three vector dialects (ruvector-postgres, pgvector, none), each in dialects/<name>.ts with the
// few SQL fragments that differ between them (dialects/dialect-sql.ts), picked by name here; and
// which one a database supports. Everything else in our SQL is identical (notes/ruvector.md §1.9, §7).
import type { Queryable } from './database.js';
import { AppError } from '../../schema/errors.js';
import type { DialectSql, VectorDialect } from './dialects/dialect-sql.js';
import { none } from './dialects/none.js';
import { pgvector } from './dialects/pgvector.js';
import { ruvector } from './dialects/ruvector.js';

export { type DialectSql, EMBEDDING_DIM, type SearchPlan, type VectorDialect } from './dialects/dialect-sql.js';

export const VECTOR_DIALECTS: readonly VectorDialect[] = ['ruvector', 'pgvector', 'none'];

export function isVectorDialect(value: unknown): value is VectorDialect {
  return typeof value === 'string' && (VECTOR_DIALECTS as readonly string[]).includes(value);
}

const DIALECTS: Record<VectorDialect, DialectSql> = { pgvector, ruvector, none };

/** The SQL fragments of `dialect` (one module per dialect in dialects/). */
export function dialectSql(dialect: VectorDialect): DialectSql {
  return DIALECTS[dialect];
}

interface ExtensionRow {
  extname: string;
}

/**
 * Which vector dialect `db` supports, per notes/ruvector.md §1.10: an installed extension wins;
 * otherwise an available one is created (ruvector preferred: it is the production image); else
 * `none`. Never installs both (they share the `hnsw` access method name).
 */
export async function detectDialect(db: Queryable, options: { create?: boolean } = {}): Promise<VectorDialect> {
  const installed = await db.query<ExtensionRow>(`SELECT extname FROM pg_extension WHERE extname IN ('ruvector', 'vector')`);
  const names = installed.rows.map((r) => r.extname);
  if (names.includes('ruvector') && names.includes('vector')) {
    throw new AppError('DB_SCHEMA', 'both extensions "ruvector" and "vector" are installed in this database; they cannot coexist (both define the hnsw access method). Drop one of them.');
  }
  if (names.includes('ruvector')) return confirm(db, 'ruvector');
  if (names.includes('vector')) return confirm(db, 'pgvector');
  const available = await db.query<{ name: string }>(`SELECT name FROM pg_available_extensions WHERE name IN ('ruvector', 'vector')`);
  const avail = available.rows.map((r) => r.name);
  const pick: VectorDialect = avail.includes('ruvector') ? 'ruvector' : avail.includes('vector') ? 'pgvector' : 'none';
  if (pick === 'none' || options.create === false) return pick;
  await ensureDialectExtension(db, pick);
  return confirm(db, pick);
}

/** CREATE EXTENSION IF NOT EXISTS for the dialect (nothing for `none`). */
export async function ensureDialectExtension(db: Queryable, dialect: VectorDialect): Promise<void> {
  const ext = DIALECTS[dialect].extension;
  if (ext === null) return;
  const other = ext === 'vector' ? 'ruvector' : 'vector';
  const clash = await db.query(`SELECT 1 FROM pg_extension WHERE extname = $1`, [other]);
  if (clash.rowCount > 0) {
    throw new AppError('DB_SCHEMA', `cannot use dialect "${dialect}": extension "${other}" is installed in this database and the two cannot coexist. Use dialect "${other === 'vector' ? 'pgvector' : 'ruvector'}" or drop "${other}".`);
  }
  try {
    await db.exec(`CREATE EXTENSION IF NOT EXISTS ${ext}`);
  } catch (err) {
    throw new AppError('DB_SCHEMA', `dialect "${dialect}" needs extension "${ext}" but CREATE EXTENSION failed: ${err instanceof Error ? err.message : String(err)}. Install it on the server, or use dialect "none".`, { cause: err });
  }
}

async function confirm(db: Queryable, dialect: VectorDialect): Promise<VectorDialect> {
  const type = dialect === 'ruvector' ? 'ruvector' : 'vector';
  const res = await db.query<{ t: string | null }>(`SELECT to_regtype($1)::text AS t`, [type]);
  if (!res.rows[0]?.t) {
    throw new AppError('DB_SCHEMA', `extension for dialect "${dialect}" is installed but type "${type}" is missing; reinstall the extension.`);
  }
  return dialect;
}
