// The SQL of search, as the merge has merge-sql.ts: pure builders, no I/O. Each returns the
// statement text and its parameters (values only ever travel as parameters; identifiers are our
// own table and column names). search.ts runs them; fuse-hits.ts ranks what comes back.

import { TARGET_TABLES } from '../../schema/tables/target-tables.js';
import { AppError } from '../../schema/errors.js';
import type { SqlParam } from '../db/database.js';
import type { DialectSql } from '../db/dialect.js';

/** Tables that carry our embeddings. */
export const SEARCHABLE_TABLES: readonly string[] = TARGET_TABLES.filter((t) => t.embedded).map((t) => t.name);

/** Per table: an SQL expression for the "domain" filter. */
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

/** What a search may be narrowed by (the SQL-relevant part of SearchOptions). */
export interface SearchFilters {
  tables?: readonly string[];
  domain?: string;
  env?: string;
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

/** A statement and its parameters. */
export interface SearchStatement {
  text: string;
  params: SqlParam[];
}

/** A row as a search statement returns it. */
export interface RawHit {
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

/** The tables to search: all searchable ones, or the ones asked for (a USAGE error names a wrong one). */
export function checkTables(tables: readonly string[] | undefined): string[] {
  if (!tables || tables.length === 0) return [...SEARCHABLE_TABLES];
  for (const t of tables) {
    if (!SEARCHABLE_TABLES.includes(t)) {
      throw new AppError('USAGE', `--table ${t}: not a searchable table; expected one of ${SEARCHABLE_TABLES.join(', ')}`);
    }
  }
  return [...tables];
}

/** true when `table` can be filtered by `domain` (a domain filter skips the others). */
export function hasDomain(table: string): boolean {
  return DOMAIN_EXPR[table] !== undefined;
}

/** SQL for a row's label, columns qualified by `alias` when given. */
export function labelExpr(table: string, alias?: string): string {
  const cols = (LABEL_COLUMNS[table] ?? []).map((c) => (alias ? `${alias}.${c}` : c));
  if (cols.length === 0) return 'NULL::text';
  return `coalesce(${cols.map((c) => `${c}::text`).join(', ')})`;
}

/**
 * The WHERE of one table's search, its values appended to `params`. `narrowing`: a filter the user
 * asked for (environment, domain, an excluded row), which may keep few rows, as opposed to the
 * model and missing-row filters.
 */
export function filters(table: string, options: SearchFilters, params: SqlParam[]): { where: string[]; params: SqlParam[]; narrowing: boolean } {
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

/** The k-NN statement over several tables, with the settings it needs and how it will scan. */
export interface KnnStatement extends SearchStatement {
  /** `SET LOCAL …` to run first in the same transaction (none: the statement runs alone). */
  settings: string[];
  /** The tables in the statement, in order: a row's `table_no` indexes this. */
  searched: string[];
  /** Tables searched through an index (may come back short when a WHERE drops candidates). */
  approximate: string[];
}

/**
 * The k-NN part of every table in ONE statement (UNION ALL of per-table ORDER BY … LIMIT, each
 * still an index scan): one statement per table cost ~0.8 ms each on PGlite, mostly per-statement
 * overhead (measured: 8 tables 7.9 ms as 8 statements, 1.5 ms as one). `vectorLiteral` is the
 * query vector's text form ('[x,y,…]'), always $1. `forceFiltered`: plan every table as filtered
 * (the second pass over tables an index plan returned short).
 */
export function knnStatement(
  sql: DialectSql,
  input: { tables: readonly string[]; vectorLiteral: string; limit: number; threshold: number; filters: SearchFilters; forceFiltered: boolean },
): KnnStatement {
  const { limit, threshold } = input;
  const dist = sql.cosineDistance('embedding', sql.castText('$1::text'));
  const params: SqlParam[] = [input.vectorLiteral];
  const settings = new Set<string>();
  const branches: string[] = [];
  const searched: string[] = [];
  const approximate: string[] = [];
  for (const table of input.tables) {
    if (input.filters.domain !== undefined && !hasDomain(table)) continue;
    const { where, narrowing } = filters(table, input.filters, params);
    // the model and missing-row filters keep nearly every row: an index plan serves them, and a
    // table that comes back short is searched again with the filtered plan
    const plan = sql.searchPlan({ k: limit, filtered: input.forceFiltered || narrowing || threshold > 0, efSearch: Math.max(40, limit * 2) });
    if (!plan.exact) approximate.push(table);
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
  return { text: branches.join('\n  UNION ALL\n'), params, settings: [...settings], searched, approximate };
}

/** Rows of `table` matching `queryText` in full text (with or without an embedding, of any model), best rank first. */
export function fullTextStatement(table: string, queryText: string, options: SearchFilters, limit: number): SearchStatement {
  // the first filter (embedding IS NOT NULL) is dropped: full text finds rows without a vector too
  const t = filters(table, { ...options, model: undefined }, [queryText]);
  t.params.push(limit);
  return {
    text: `SELECT ${HIT_COLUMNS}, ${labelExpr(table)} AS label,
            left(search_text, 200) AS excerpt, ts_rank(search_tsv, q) AS rank
       FROM aqe.${table}, websearch_to_tsquery('simple', $1) AS q
      WHERE ${t.where.slice(1).concat(['search_tsv @@ q']).join(' AND ')}
      ORDER BY rank DESC
      LIMIT $${t.params.length}`,
    params: t.params,
  };
}

/** Rows of the searched tables whose vectors another model than `options.model` made (within the same filters), per model. */
export function otherModelStatement(tables: readonly string[], options: SearchFilters): SearchStatement {
  const params: SqlParam[] = [options.model ?? ''];
  const branches = tables.map((table) => {
    const { where } = filters(table, { ...options, model: undefined }, params);
    return `SELECT embedding_model AS m, count(*) AS n FROM aqe.${table} WHERE ${where.join(' AND ')} AND embedding_model IS DISTINCT FROM $1 GROUP BY embedding_model`;
  });
  return { text: `SELECT m, sum(n) AS n FROM (${branches.join(' UNION ALL ')}) u GROUP BY m ORDER BY m`, params };
}

/** Pairs of rows of `table` in different environments at most `1 - threshold` apart. */
export function duplicatesStatement(sql: DialectSql, table: string, threshold: number, limit: number): SearchStatement {
  const dist = sql.cosineDistance('a.embedding', 'b.embedding');
  return {
    text: `SELECT a.source_env AS ae, a.source_key AS ak, ${labelExpr(table, 'a')} AS al,
            b.source_env AS be, b.source_key AS bk, ${labelExpr(table, 'b')} AS bl, ${dist} AS d
       FROM aqe.${table} a
       JOIN aqe.${table} b ON b.source_env > a.source_env AND b.embedding IS NOT NULL AND b.embedding_model = a.embedding_model AND b.missing_since IS NULL
      WHERE a.embedding IS NOT NULL AND a.missing_since IS NULL AND ${dist} <= $1
      ORDER BY d, ae, ak, be, bk
      LIMIT $2`,
    params: [1 - threshold, limit],
  };
}

/** One row's stored embedding and identity (for `similar`); at most two rows, to detect ambiguity. */
export function rowEmbeddingStatement(ref: { table: string; key: string; env?: string; sourceId?: string }): SearchStatement {
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
  return {
    text: `SELECT source_env, source_id, source_table, source_key, embedding::text AS v, embedding_status AS status, embedding_model AS model
       FROM aqe.${ref.table} WHERE ${where} ORDER BY source_env, source_id LIMIT 2`,
    params,
  };
}
