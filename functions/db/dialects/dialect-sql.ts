// What every vector dialect provides: the few SQL fragments that differ between ruvector-postgres,
// pgvector and plain PostgreSQL (column type, dimension check, text cast, cosine distance, HNSW
// index DDL, query-time settings) and how a vector is written for it. One file per dialect beside
// this one (kysely's per-dialect folders are the model); db/dialect.ts picks one by name.

/** The vector dialects, by name. */
export type VectorDialect = 'ruvector' | 'pgvector' | 'none';

/** Dimension of our embeddings (all-MiniLM-L6-v2). */
export const EMBEDDING_DIM = 384;

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
  /** The extension's vector type (checked to exist once the extension is installed), or null. */
  readonly vectorType: 'ruvector' | 'vector' | null;
  /** Column type of a `dim`-dimensional vector. */
  columnType(dim?: number): string;
  /** CHECK expression enforcing the dimension where the type does not (null: typmod enforces). */
  dimensionCheck(column: string, dim?: number): string | null;
  /** Turns a text expression holding `'[x,y,…]'` into the column type. */
  castText(textExpr: string): string;
  /** Cosine distance (0 = same direction) between a vector column and a vector expression. */
  cosineDistance(columnExpr: string, vectorExpr: string): string;
  /**
   * CREATE INDEX for cosine k-NN, or null where no index exists (`none`). Never CONCURRENTLY.
   * `ifNotExists` (default true): false renders the form the early migrations used.
   */
  hnswIndex(indexName: string, qualifiedTable: string, column: string, options?: { ifNotExists?: boolean }): string | null;
  /** Query-time settings and over-fetch for a top-k search. */
  searchPlan(options: { k: number; filtered: boolean; efSearch?: number }): SearchPlan;
  /** The text a vector is written as (a COPY field or a $n parameter), which castText turns into the column type. */
  encodeVector(vector: ArrayLike<number>, dim?: number): string;
  /**
   * The column type's own text form of an encodeVector text (`'[x,y,…]'`): what a COPY straight
   * into the column (no castText in between) must write.
   */
  copyColumnText(vectorText: string): string;
  /** What a search result says about how this dialect searched (e.g. that it compared every row), or null. */
  readonly searchNote: string | null;
}

/** `dim`, checked to be a dimension a vector type accepts. */
export function checkDim(dim: number): number {
  if (!Number.isInteger(dim) || dim < 1 || dim > 16_000) throw new TypeError(`vector dimension must be an integer in 1..16000, got ${dim}`);
  return dim;
}

/** `IF NOT EXISTS ` unless asked for the plain form. */
export function ifNotExists(options?: { ifNotExists?: boolean }): string {
  return options?.ifNotExists === false ? '' : 'IF NOT EXISTS ';
}
