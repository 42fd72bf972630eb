// The three vector dialects (ruvector-postgres, pgvector, none) and the few SQL fragments that
// differ between them: column type, dimension check, text cast, cosine distance, HNSW index DDL
// and query-time settings. Everything else in our SQL is identical (notes/ruvector.md §1.9, §7).
import type { Queryable } from './database.js';
import { AppError } from '../../schema/errors.js';

export type VectorDialect = 'ruvector' | 'pgvector' | 'none';

export const VECTOR_DIALECTS: readonly VectorDialect[] = ['ruvector', 'pgvector', 'none'];

/** Dimension of our embeddings (all-MiniLM-L6-v2). */
export const EMBEDDING_DIM = 384;

export function isVectorDialect(value: unknown): value is VectorDialect {
  return typeof value === 'string' && (VECTOR_DIALECTS as readonly string[]).includes(value);
}

/** How a k-NN query must run in a dialect (see `searchPlan`). */
export interface SearchPlan {
  /** Statements to run first, inside the query's transaction (`SET LOCAL …`). */
  settings: string[];
  /** How many candidates to ask the ORDER BY … LIMIT for (>= k). */
  candidateLimit: number;
  /** true when the plan forces an exact (sequential) scan. */
  exact: boolean;
}

/** The SQL fragments of one dialect. All inputs are identifiers/expressions of ours, never data. */
export interface DialectSql {
  readonly dialect: VectorDialect;
  /** Extension to CREATE, or null. */
  readonly extension: 'ruvector' | 'vector' | null;
  /** Column type of a `dim`-dimensional vector. */
  columnType(dim?: number): string;
  /** CHECK expression enforcing the dimension where the type does not (null: typmod enforces). */
  dimensionCheck(column: string, dim?: number): string | null;
  /** Turns a text expression holding `'[x,y,…]'` into the column type. */
  castText(textExpr: string): string;
  /** Cosine distance (0 = same direction) between a vector column and a vector expression. */
  cosineDistance(columnExpr: string, vectorExpr: string): string;
  /** CREATE INDEX for cosine k-NN, or null where no index exists (`none`). Never CONCURRENTLY. */
  hnswIndex(indexName: string, qualifiedTable: string, column: string): string | null;
  /** Query-time settings and over-fetch for a top-k search. */
  searchPlan(options: { k: number; filtered: boolean; efSearch?: number }): SearchPlan;
}

const checkDim = (dim: number): number => {
  if (!Number.isInteger(dim) || dim < 1 || dim > 16_000) throw new TypeError(`vector dimension must be an integer in 1..16000, got ${dim}`);
  return dim;
};

/** pgvector's built-in hnsw.ef_search. */
const PGVECTOR_DEFAULT_EF_SEARCH = 40;

const pgvector: DialectSql = {
  dialect: 'pgvector',
  extension: 'vector',
  columnType: (dim = EMBEDDING_DIM) => `vector(${checkDim(dim)})`,
  dimensionCheck: () => null,
  castText: (expr) => `(${expr})::vector`,
  cosineDistance: (col, vec) => `(${col} <=> ${vec})`,
  hnswIndex: (name, table, col) => `CREATE INDEX IF NOT EXISTS ${name} ON ${table} USING hnsw (${col} vector_cosine_ops) WITH (m = 16, ef_construction = 64)`,
  searchPlan: ({ k, filtered, efSearch }) => {
    const ef = Math.min(1000, Math.max(efSearch ?? PGVECTOR_DEFAULT_EF_SEARCH, k));
    // the default needs no statement (one round trip less per search)
    const settings = ef === PGVECTOR_DEFAULT_EF_SEARCH ? [] : [`SET LOCAL hnsw.ef_search = ${ef}`];
    // Without iterative scan a filtered HNSW query returns at most ef_search candidates.
    if (filtered) settings.push('SET LOCAL hnsw.iterative_scan = relaxed_order');
    return { settings, candidateLimit: k, exact: false };
  },
};

// ruvector: ef_search GUCs are ignored, an index scan yields at most 100 candidates that a WHERE
// filters afterwards, HNSW WITH options are ignored, `<#>` has the opposite sign, no casts from
// real[], typmod not enforced (notes/ruvector.md §1.3–1.8). So: CHECK on ruvector_dims, text
// literals only, plain CREATE INDEX, and an exact scan whenever the index could under-deliver.
const RUVECTOR_INDEX_CANDIDATES = 100;
const ruvector: DialectSql = {
  dialect: 'ruvector',
  extension: 'ruvector',
  columnType: (dim = EMBEDDING_DIM) => `ruvector(${checkDim(dim)})`,
  dimensionCheck: (col, dim = EMBEDDING_DIM) => `ruvector_dims(${col}) = ${checkDim(dim)}`,
  castText: (expr) => `(${expr})::ruvector`,
  cosineDistance: (col, vec) => `(${col} <=> ${vec})`,
  hnswIndex: (name, table, col) => `CREATE INDEX IF NOT EXISTS ${name} ON ${table} USING hnsw (${col} ruvector_cosine_ops)`,
  searchPlan: ({ k, filtered }) => {
    if (filtered || k > RUVECTOR_INDEX_CANDIDATES) {
      return { settings: ['SET LOCAL enable_indexscan = off', 'SET LOCAL enable_bitmapscan = off'], candidateLimit: k, exact: true };
    }
    return { settings: [], candidateLimit: k, exact: false };
  },
};

// none: real[] with an exact scan through aqe.real_cosine_distance (migration 012).
const none: DialectSql = {
  dialect: 'none',
  extension: null,
  columnType: () => 'real[]',
  dimensionCheck: (col, dim = EMBEDDING_DIM) => `array_ndims(${col}) = 1 AND cardinality(${col}) = ${checkDim(dim)}`,
  castText: (expr) => `translate(${expr}, '[]', '{}')::real[]`,
  cosineDistance: (col, vec) => `aqe.real_cosine_distance(${col}, ${vec})`,
  hnswIndex: () => null,
  searchPlan: ({ k }) => ({ settings: [], candidateLimit: k, exact: true }),
};

const DIALECTS: Record<VectorDialect, DialectSql> = { pgvector, ruvector, none };

/** The SQL fragments of `dialect`. */
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
