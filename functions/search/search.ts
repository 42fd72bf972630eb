// Semantic search over the consolidated data: k nearest neighbours by cosine distance on every
// embedded table (HNSW where the dialect has it, exact scan otherwise or when filters could cut
// an index scan short), optionally fused with full-text rank by reciprocal rank fusion. The I/O
// only: the statements come from search-sql.ts, the ranking from fuse-hits.ts (both pure).

import { AppError } from '../../schema/errors.js';
import type { Database, Queryable } from '../db/database.js';
import { EMBEDDING_DIM, type VectorDialect } from '../db/dialect.js';
import { fuseHits, hitOf, type SearchHit, type TableHit } from './fuse-hits.js';
import { checkTables, duplicatesStatement, fullTextStatement, hasDomain, knnStatement, otherModelStatement, type RawHit, rowEmbeddingStatement, type SearchFilters } from './search-sql.js';

export { SEARCHABLE_TABLES } from './search-sql.js';
export type { SearchHit } from './fuse-hits.js';

export interface SearchOptions extends SearchFilters {
  limit?: number;
  /** Minimum cosine similarity (1 - distance), 0..1. */
  threshold?: number;
  /** Fuse with full-text rank (reciprocal rank fusion). */
  hybrid?: boolean;
}

export interface SearchResult {
  hits: SearchHit[];
  /** true when every table was searched exactly (sequential scan), e.g. dialect `none`. */
  exact: boolean;
  dialect: VectorDialect;
  notes: string[];
}

/** Nearest neighbours of `queryVector` (384-d, normalised) across the embedded tables. */
export async function searchByVector(
  db: Database,
  queryVector: ArrayLike<number>,
  options: SearchOptions & { queryText?: string } = {},
): Promise<SearchResult> {
  if (queryVector.length !== EMBEDDING_DIM) {
    throw new AppError('MODEL_DIMENSION', `query vector has ${queryVector.length} dimensions, expected ${EMBEDDING_DIM}`);
  }
  const limit = Math.max(1, Math.min(options.limit ?? 10, 1000));
  const threshold = options.threshold ?? 0;
  const tables = checkTables(options.tables);
  const sql = db.dialect;
  const vectorLiteral = sql.encodeVector(queryVector, EMBEDDING_DIM);
  const notes: string[] = [];
  let exact = true;
  const vectorHits: TableHit[] = [];
  const textHits: TableHit[] = [];

  const knn = async (which: readonly string[], forceFiltered: boolean) => {
    const st = knnStatement(sql, { tables: which, vectorLiteral, limit, threshold, filters: options, forceFiltered });
    if (st.approximate.length > 0) exact = false;
    const run = async (tx: Queryable) => {
      // SET LOCAL lasts for the transaction, so the settings of every table apply to the statement.
      for (const setting of st.settings) await tx.query(setting);
      if (st.searched.length > 0) {
        const rows = await tx.query<RawHit & { table_no: number | string }>(st.text, st.params);
        for (const raw of rows.rows) vectorHits.push({ table: st.searched[Number(raw.table_no)] as string, raw });
      }
    };
    // settings need a transaction (SET LOCAL); without any, one statement is the whole search
    if (st.settings.length > 0) await db.transaction(run);
    else await run(db);
    return st;
  };
  const first = await knn(tables, false);
  const searched = first.searched;
  // An index plan whose WHERE dropped candidates can return fewer than `limit` rows of a table that
  // has more (pgvector without iterative scan, ruvector's 100-candidate cap): search those again
  // with the plan for filtered queries (iterative scan / exact).
  const short = first.approximate.filter((t) => vectorHits.filter((h) => h.table === t).length < limit);
  if (short.length > 0) {
    for (let i = vectorHits.length - 1; i >= 0; i--) if (short.includes(vectorHits[i]!.table)) vectorHits.splice(i, 1);
    await knn(short, true);
  }
  if (options.hybrid && options.queryText?.trim()) {
    for (const table of searched) {
      for (const raw of await fullTextHits(db, table, options.queryText, options, limit * 2)) textHits.push({ table, raw });
    }
  }
  if (sql.searchNote !== null) notes.push(sql.searchNote);
  if (options.model !== undefined) {
    const other = await otherModelRows(db, searched, options);
    if (other.rows > 0) {
      notes.push(
        `${other.rows} row(s) embedded by another model (${other.labels.join(', ')}) were not compared: vectors of two models live in different spaces. ` +
          `Embed them with this model (${options.model}): aqe-upload embed --reembed`,
      );
    }
  }
  return { hits: fuseHits(vectorHits, textHits, { hybrid: options.hybrid === true, limit }), exact, dialect: sql.dialect, notes };
}

/** Rows of the searched tables whose vectors another model made (within the same filters). */
async function otherModelRows(db: Queryable, tables: readonly string[], options: SearchFilters): Promise<{ rows: number; labels: string[] }> {
  if (tables.length === 0) return { rows: 0, labels: [] };
  const st = otherModelStatement(tables, options);
  const res = await db.query<{ m: string | null; n: number | string }>(st.text, st.params);
  return { rows: res.rows.reduce((a, r) => a + Number(r.n), 0), labels: res.rows.map((r) => r.m ?? '(no label)') };
}

/** Rows of `table` matching `queryText` in full text (rows with or without an embedding), best rank first. */
async function fullTextHits(db: Queryable, table: string, queryText: string, options: SearchFilters, limit: number): Promise<RawHit[]> {
  const st = fullTextStatement(table, queryText, options, limit);
  return (await db.query<RawHit>(st.text, st.params)).rows;
}

export interface RowRef {
  table: string;
  key: string;
  env?: string;
  sourceId?: string;
}

/** The stored embedding of one row (for `similar`), with its identity. */
export async function rowEmbedding(
  db: Queryable,
  ref: RowRef,
): Promise<{ vector: number[]; env: string; sourceId: string; sourceTable: string; key: string; model: string | null }> {
  checkTables([ref.table]);
  const st = rowEmbeddingStatement(ref);
  const res = await db.query<{ source_env: string; source_id: string; source_table: string; source_key: string; v: string | null; status: string; model: string | null }>(st.text, st.params);
  const row = res.rows[0];
  if (!row) throw new AppError('USAGE', `no row ${ref.table}/${ref.key}${ref.env ? ` in environment ${ref.env}` : ''}; list keys with: aqe-upload search "<text>" --table ${ref.table}`);
  if (res.rows.length > 1 && !ref.env) {
    throw new AppError('USAGE', `${ref.table}/${ref.key} exists in several environments or sources; add --env (e.g. --env ${row.source_env})`);
  }
  if (!row.v) throw new AppError('USAGE', `${ref.table}/${ref.key} has no embedding yet (status ${row.status}); run: aqe-upload embed`);
  return { vector: parseVectorText(row.v), env: row.source_env, sourceId: row.source_id, sourceTable: row.source_table, key: row.source_key, model: row.model };
}

/** Parses a vector's text form: pgvector/ruvector `[1,2]` or a real[] `{1,2}`. */
export function parseVectorText(text: string): number[] {
  const t = text.trim();
  const inner = t.startsWith('[') || t.startsWith('{') ? t.slice(1, -1) : t;
  return inner.length === 0 ? [] : inner.split(',').map(Number);
}

export interface DuplicatePair {
  table: string;
  a: { env: string; key: string; label: string | null };
  b: { env: string; key: string; label: string | null };
  similarity: number;
}

/** Pairs of rows in different environments whose embeddings are at least `threshold` similar. */
export async function findDuplicates(
  db: Database,
  options: { table: string; threshold?: number; limit?: number },
): Promise<DuplicatePair[]> {
  const [table] = checkTables([options.table]);
  const threshold = options.threshold ?? 0.9;
  const limit = Math.max(1, Math.min(options.limit ?? 100, 10_000));
  const st = duplicatesStatement(db.dialect, table!, threshold, limit);
  const res = await db.query<{ ae: string; ak: string; al: string | null; be: string; bk: string; bl: string | null; d: number | string }>(st.text, st.params);
  return res.rows.map((r) => ({
    table: table!,
    a: { env: r.ae, key: r.ak, label: r.al },
    b: { env: r.be, key: r.bk, label: r.bl },
    similarity: 1 - Number(r.d),
  }));
}

/** Full-text search only (no model available): ts_rank over search_text on every embedded table. */
export async function searchByText(db: Database, queryText: string, options: SearchOptions = {}): Promise<SearchResult> {
  const limit = Math.max(1, Math.min(options.limit ?? 10, 1000));
  const tables = checkTables(options.tables);
  const found: { table: string; raw: RawHit }[] = [];
  for (const table of tables) {
    if (options.domain !== undefined && !hasDomain(table)) continue;
    for (const raw of await fullTextHits(db, table, queryText, options, limit)) found.push({ table, raw });
  }
  found.sort((a, b) => Number(b.raw.rank) - Number(a.raw.rank));
  const hits = found.slice(0, limit).map(({ table, raw }) => hitOf(table, raw, null, Number(raw.rank)));
  return { hits, exact: true, dialect: db.dialect.dialect, notes: ['full-text search only: no embedding model is available (set AQE_MODEL_DIR)'] };
}
