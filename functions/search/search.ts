// Semantic search over the consolidated data: k nearest neighbours by cosine distance on every
// embedded table (HNSW where the dialect has it, exact scan otherwise or when filters could cut
// an index scan short), optionally fused with full-text rank by reciprocal rank fusion.

import { TARGET_TABLES } from '../../schema/tables/target-tables.js';
import { AppError } from '../../schema/errors.js';
import type { Database, Queryable, SqlParam } from '../db/database.js';
import { encodeVectorLiteral } from '../db/copy-encoding.js';
import { dialectSql, EMBEDDING_DIM, type VectorDialect } from '../db/dialect.js';

/** Tables that carry our embeddings. */
export const SEARCHABLE_TABLES: readonly string[] = TARGET_TABLES.filter((t) => t.embedded).map((t) => t.name);

/** Per table: an SQL expression for the "domain" filter, and for a short label. */
const DOMAIN_EXPR: Record<string, string> = {
  qe_patterns: 'coalesce(qe_domain, domain)',
  patterns: 'domain',
  sona_patterns: 'domain',
  goap_actions: 'qe_domain',
  memory_entries: 'partition',
  claude_flow_memory: 'namespace',
  intelligence_memories: 'memory_type',
  learning_experiences: 'task_type',
};
/** Per table: the columns that name a row (first non-null wins). */
const LABEL_COLUMNS: Record<string, readonly string[]> = {
  qe_patterns: ['name', 'pattern_type'],
  patterns: ['pattern'],
  sona_patterns: ['type', 'action_type'],
  goap_actions: ['name'],
  memory_entries: ['key'],
  claude_flow_memory: ['key'],
  intelligence_memories: ['memory_type'],
  learning_experiences: ['task_type'],
};

/** SQL for a row's label, columns qualified by `alias` when given. */
function labelExpr(table: string, alias?: string): string {
  const cols = (LABEL_COLUMNS[table] ?? []).map((c) => (alias ? `${alias}.${c}` : c));
  if (cols.length === 0) return 'NULL::text';
  return `coalesce(${cols.map((c) => `${c}::text`).join(', ')})`;
}

export interface SearchOptions {
  limit?: number;
  /** Minimum cosine similarity (1 - distance), 0..1. */
  threshold?: number;
  tables?: readonly string[];
  domain?: string;
  env?: string;
  /** Fuse with full-text rank (reciprocal rank fusion). */
  hybrid?: boolean;
  /** Exclude one row (for `similar`). */
  exclude?: { table: string; env: string; sourceId: string; sourceTable: string; key: string };
  /**
   * The label of the model the query vector comes from (embedding_model): only vectors of that
   * model are compared (another model's vectors live in another space); the result says how many
   * rows were left out and how to embed them with this model.
   */
  model?: string;
  /** Also rows marked missing (gone from their source since): left out by default. */
  includeMissing?: boolean;
}

export interface SearchHit {
  table: string;
  env: string;
  sourceId: string;
  sourceTable: string;
  key: string;
  label: string | null;
  excerpt: string;
  /** Cosine similarity (1 - distance); null for a hit found by full text only. */
  similarity: number | null;
  /** Final score: similarity, or the RRF score with --hybrid. */
  score: number;
  /** When the row last changed in its source (else when it was last loaded): the hit's age. */
  updatedAt: string | null;
  /** Gone from its source (only with includeMissing). */
  missing: boolean;
}

export interface SearchResult {
  hits: SearchHit[];
  /** true when every table was searched exactly (sequential scan), e.g. dialect `none`. */
  exact: boolean;
  dialect: VectorDialect;
  notes: string[];
}

const RRF_K = 60;

function checkTables(tables: readonly string[] | undefined): string[] {
  if (!tables || tables.length === 0) return [...SEARCHABLE_TABLES];
  for (const t of tables) {
    if (!SEARCHABLE_TABLES.includes(t)) {
      throw new AppError('USAGE', `--table ${t}: not a searchable table; expected one of ${SEARCHABLE_TABLES.join(', ')}`);
    }
  }
  return [...tables];
}

interface RawHit {
  source_env: string;
  source_id: string;
  source_table: string;
  source_key: string;
  label: string | null;
  excerpt: string | null;
  distance?: number | string | null;
  rank?: number | string | null;
  updated_at: string | Date | null;
  missing: boolean;
}

/** The identity and age columns every hit carries. */
const HIT_COLUMNS = `source_env, source_id, source_table, source_key, coalesce(source_updated_at, snapshot_at) AS updated_at, (missing_since IS NOT NULL) AS missing`;

/** Nearest neighbours of `queryVector` (384-d, normalised) across the embedded tables. */
export async function searchByVector(
  db: Database,
  dialect: VectorDialect,
  queryVector: ArrayLike<number>,
  options: SearchOptions & { queryText?: string } = {},
): Promise<SearchResult> {
  if (queryVector.length !== EMBEDDING_DIM) {
    throw new AppError('MODEL_DIMENSION', `query vector has ${queryVector.length} dimensions, expected ${EMBEDDING_DIM}`);
  }
  const limit = Math.max(1, Math.min(options.limit ?? 10, 1000));
  const threshold = options.threshold ?? 0;
  const tables = checkTables(options.tables);
  const sql = dialectSql(dialect);
  const literal = encodeVectorLiteral(queryVector, EMBEDDING_DIM);
  const notes: string[] = [];
  let exact = true;
  const vectorHits: { table: string; raw: RawHit }[] = [];
  const textHits: { table: string; raw: RawHit }[] = [];

  // The k-NN part of every table in ONE statement (UNION ALL of per-table ORDER BY … LIMIT, each
  // still an index scan): one statement per table cost ~0.8 ms each on PGlite, mostly per-statement
  // overhead (measured: 8 tables 7.9 ms as 8 statements, 1.5 ms as one).
  const dist = sql.cosineDistance('embedding', sql.castText('$1::text'));
  const knn = async (which: readonly string[], forceFiltered: boolean): Promise<{ searched: string[]; approximate: Set<string> }> => {
    const params: SqlParam[] = [literal];
    const settings = new Set<string>();
    const branches: string[] = [];
    const searched: string[] = [];
    const approximate = new Set<string>();
    for (const table of which) {
      if (options.domain !== undefined && !DOMAIN_EXPR[table]) continue;
      const { where, narrowing } = filters(table, options, params);
      // the model and missing-row filters keep nearly every row: an index plan serves them, and a
      // table that comes back short is searched again below with the filtered plan
      const plan = sql.searchPlan({ k: limit, filtered: forceFiltered || narrowing || threshold > 0, efSearch: Math.max(40, limit * 2) });
      if (!plan.exact) {
        exact = false;
        approximate.add(table);
      }
      for (const st of plan.settings) settings.add(st);
      // the distance bound only when asked for: an extra filter also costs planning time
      let bound = '';
      if (threshold > 0) {
        params.push(1 - threshold);
        bound = ` AND ${dist} <= $${params.length}`;
      }
      params.push(plan.candidateLimit);
      branches.push(
        `(SELECT ${searched.length} AS table_no, ${HIT_COLUMNS}, ${labelExpr(table)} AS label,
                left(search_text, 200) AS excerpt, ${dist} AS distance
           FROM aqe.${table}
          WHERE ${where.join(' AND ')}${bound}
          ORDER BY ${dist}
          LIMIT $${params.length})`,
      );
      searched.push(table);
    }
    const run = async (tx: Queryable) => {
      // SET LOCAL lasts for the transaction, so the settings of every table apply to the statement.
      for (const st of settings) await tx.query(st);
      if (branches.length > 0) {
        const rows = await tx.query<RawHit & { table_no: number | string }>(branches.join('\n  UNION ALL\n'), params);
        for (const raw of rows.rows) vectorHits.push({ table: searched[Number(raw.table_no)] as string, raw });
      }
    };
    // settings need a transaction (SET LOCAL); without any, one statement is the whole search
    if (settings.size > 0) await db.transaction(run);
    else await run(db);
    return { searched, approximate };
  };
  const first = await knn(tables, false);
  const searched = first.searched;
  // An index plan whose WHERE dropped candidates can return fewer than `limit` rows of a table that
  // has more (pgvector without iterative scan, ruvector's 100-candidate cap): search those again
  // with the plan for filtered queries (iterative scan / exact).
  const short = [...first.approximate].filter((t) => vectorHits.filter((h) => h.table === t).length < limit);
  if (short.length > 0) {
    for (let i = vectorHits.length - 1; i >= 0; i--) if (short.includes(vectorHits[i]!.table)) vectorHits.splice(i, 1);
    await knn(short, true);
  }
  if (options.hybrid && options.queryText?.trim()) {
    for (const table of searched) {
      for (const raw of await fullTextHits(db, table, options.queryText, options, limit * 2)) textHits.push({ table, raw });
    }
  }
  if (dialect === 'none') notes.push('exact search: this database has no vector extension (dialect "none"), so every row is compared');
  if (options.model !== undefined) {
    const other = await otherModelRows(db, searched, options);
    if (other.rows > 0) {
      notes.push(
        `${other.rows} row(s) embedded by another model (${other.labels.join(', ')}) were not compared: vectors of two models live in different spaces. ` +
          `Embed them with this model (${options.model}): aqe-upload embed --reembed`,
      );
    }
  }

  const keyOf = (table: string, r: RawHit) => `${table}\u0000${r.source_env}\u0000${r.source_id}\u0000${r.source_table}\u0000${r.source_key}`;
  const hits = new Map<string, SearchHit>();
  const toHit = (table: string, r: RawHit): SearchHit => hitOf(table, r, null, 0);
  vectorHits.sort((a, b) => Number(a.raw.distance) - Number(b.raw.distance));
  vectorHits.forEach(({ table, raw }, i) => {
    const hit = toHit(table, raw);
    hit.similarity = 1 - Number(raw.distance);
    hit.score = options.hybrid ? 1 / (RRF_K + i + 1) : hit.similarity;
    hits.set(keyOf(table, raw), hit);
  });
  if (options.hybrid) {
    textHits.sort((a, b) => Number(b.raw.rank) - Number(a.raw.rank));
    textHits.forEach(({ table, raw }, i) => {
      const k = keyOf(table, raw);
      const hit = hits.get(k) ?? toHit(table, raw);
      hit.score += 1 / (RRF_K + i + 1);
      hits.set(k, hit);
    });
  }
  const sorted = [...hits.values()].sort((a, b) => b.score - a.score || a.key.localeCompare(b.key)).slice(0, limit);
  return { hits: sorted, exact, dialect, notes };
}

function hitOf(table: string, r: RawHit, similarity: number | null, score: number): SearchHit {
  const at = r.updated_at instanceof Date ? r.updated_at.toISOString() : r.updated_at === null || r.updated_at === undefined ? null : new Date(r.updated_at).toISOString();
  return {
    table,
    env: r.source_env,
    sourceId: r.source_id,
    sourceTable: r.source_table,
    key: r.source_key,
    label: r.label,
    excerpt: (r.excerpt ?? '').replace(/\s+/g, ' ').trim(),
    similarity,
    score,
    updatedAt: at,
    missing: r.missing === true,
  };
}

/** Rows of the searched tables whose vectors another model made (within the same filters). */
async function otherModelRows(db: Queryable, tables: readonly string[], options: SearchOptions): Promise<{ rows: number; labels: string[] }> {
  if (tables.length === 0) return { rows: 0, labels: [] };
  const params: SqlParam[] = [options.model ?? ''];
  const branches = tables.map((table) => {
    const { where } = filters(table, { ...options, model: undefined }, params);
    return `SELECT embedding_model AS m, count(*) AS n FROM aqe.${table} WHERE ${where.join(' AND ')} AND embedding_model IS DISTINCT FROM $1 GROUP BY embedding_model`;
  });
  const res = await db.query<{ m: string | null; n: number | string }>(`SELECT m, sum(n) AS n FROM (${branches.join(' UNION ALL ')}) u GROUP BY m ORDER BY m`, params);
  return { rows: res.rows.reduce((a, r) => a + Number(r.n), 0), labels: res.rows.map((r) => r.m ?? '(no label)') };
}

/** Rows of `table` matching `queryText` in full text (rows with or without an embedding), best rank first. */
async function fullTextHits(db: Queryable, table: string, queryText: string, options: SearchOptions, limit: number): Promise<RawHit[]> {
  // full text: rows with or without a vector, of any model (the first filter, embedding IS NOT NULL, is dropped below)
  const t = filters(table, { ...options, model: undefined }, [queryText]);
  t.params.push(limit);
  const res = await db.query<RawHit>(
    `SELECT ${HIT_COLUMNS}, ${labelExpr(table)} AS label,
            left(search_text, 200) AS excerpt, ts_rank(search_tsv, q) AS rank
       FROM aqe.${table}, websearch_to_tsquery('simple', $1) AS q
      WHERE ${t.where.slice(1).concat(['search_tsv @@ q']).join(' AND ')}
      ORDER BY rank DESC
      LIMIT $${t.params.length}`,
    t.params,
  );
  return res.rows;
}

/**
 * The WHERE of one table's search. `narrowing`: a filter the user asked for (environment, domain,
 * an excluded row), which may keep few rows, as opposed to the model and missing-row filters.
 */
function filters(table: string, options: SearchOptions, params: SqlParam[]): { where: string[]; params: SqlParam[]; narrowing: boolean } {
  const where = ['embedding IS NOT NULL'];
  if (options.model !== undefined) {
    params.push(options.model);
    where.push(`embedding_model = $${params.length}`);
  }
  if (!options.includeMissing) where.push('missing_since IS NULL');
  if (options.env !== undefined) {
    params.push(options.env);
    where.push(`source_env = $${params.length}`);
  }
  if (options.domain !== undefined) {
    params.push(options.domain);
    where.push(`${DOMAIN_EXPR[table]} = $${params.length}`);
  }
  const ex = options.exclude;
  if (ex && ex.table === table) {
    params.push(ex.env, ex.sourceId, ex.sourceTable, ex.key);
    const n = params.length;
    where.push(`(source_env, source_id, source_table, source_key) <> ($${n - 3}, $${n - 2}, $${n - 1}, $${n})`);
  }
  return { where, params, narrowing: options.env !== undefined || options.domain !== undefined || Boolean(ex && ex.table === table) };
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
  const params: SqlParam[] = [ref.key];
  let where = 'source_key = $1';
  if (ref.env) {
    params.push(ref.env);
    where += ` AND source_env = $${params.length}`;
  }
  if (ref.sourceId) {
    params.push(ref.sourceId);
    where += ` AND source_id = $${params.length}`;
  }
  const res = await db.query<{ source_env: string; source_id: string; source_table: string; source_key: string; v: string | null; status: string; model: string | null }>(
    `SELECT source_env, source_id, source_table, source_key, embedding::text AS v, embedding_status AS status, embedding_model AS model
       FROM aqe.${ref.table} WHERE ${where} ORDER BY source_env, source_id LIMIT 2`,
    params,
  );
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
  dialect: VectorDialect,
  options: { table: string; threshold?: number; limit?: number },
): Promise<DuplicatePair[]> {
  const [table] = checkTables([options.table]);
  const sql = dialectSql(dialect);
  const threshold = options.threshold ?? 0.9;
  const limit = Math.max(1, Math.min(options.limit ?? 100, 10_000));
  const dist = sql.cosineDistance('a.embedding', 'b.embedding');
  const res = await db.query<{ ae: string; ak: string; al: string | null; be: string; bk: string; bl: string | null; d: number | string }>(
    `SELECT a.source_env AS ae, a.source_key AS ak, ${labelExpr(table!, 'a')} AS al,
            b.source_env AS be, b.source_key AS bk, ${labelExpr(table!, 'b')} AS bl, ${dist} AS d
       FROM aqe.${table} a
       JOIN aqe.${table} b ON b.source_env > a.source_env AND b.embedding IS NOT NULL AND b.embedding_model = a.embedding_model AND b.missing_since IS NULL
      WHERE a.embedding IS NOT NULL AND a.missing_since IS NULL AND ${dist} <= $1
      ORDER BY d, ae, ak, be, bk
      LIMIT $2`,
    [1 - threshold, limit],
  );
  return res.rows.map((r) => ({
    table: table!,
    a: { env: r.ae, key: r.ak, label: r.al },
    b: { env: r.be, key: r.bk, label: r.bl },
    similarity: 1 - Number(r.d),
  }));
}

/** Full-text search only (no model available): ts_rank over search_text on every embedded table. */
export async function searchByText(db: Database, dialect: VectorDialect, queryText: string, options: SearchOptions = {}): Promise<SearchResult> {
  const limit = Math.max(1, Math.min(options.limit ?? 10, 1000));
  const tables = checkTables(options.tables);
  const found: { table: string; raw: RawHit }[] = [];
  for (const table of tables) {
    if (options.domain !== undefined && !DOMAIN_EXPR[table]) continue;
    for (const raw of await fullTextHits(db, table, queryText, options, limit)) found.push({ table, raw });
  }
  found.sort((a, b) => Number(b.raw.rank) - Number(a.raw.rank));
  const hits = found.slice(0, limit).map(({ table, raw }) => hitOf(table, raw, null, Number(raw.rank)));
  return { hits, exact: true, dialect, notes: ['full-text search only: no embedding model is available (set AQE_MODEL_DIR)'] };
}
