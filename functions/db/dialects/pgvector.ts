// pgvector: vector(n) (the typmod enforces the dimension), `<=>` cosine distance, HNSW with its
// stated defaults, hnsw.ef_search and iterative scan for filtered queries.

import { encodeVectorLiteral } from '../copy-encoding.js';
import { checkDim, type DialectSql, EMBEDDING_DIM, ifNotExists } from './dialect-sql.js';

/** pgvector's built-in hnsw.ef_search. */
const PGVECTOR_DEFAULT_EF_SEARCH = 40;

export const pgvector: DialectSql = {
  dialect: 'pgvector',
  extension: 'vector',
  vectorType: 'vector',
  columnType: (dim = EMBEDDING_DIM) => `vector(${checkDim(dim)})`,
  dimensionCheck: () => null,
  castText: (expr) => `(${expr})::vector`,
  cosineDistance: (col, vec) => `(${col} <=> ${vec})`,
  hnswIndex: (name, table, col, options) => `CREATE INDEX ${ifNotExists(options)}${name} ON ${table} USING hnsw (${col} vector_cosine_ops) WITH (m = 16, ef_construction = 64)`,
  searchPlan: ({ k, filtered, efSearch }) => {
    const ef = Math.min(1000, Math.max(efSearch ?? PGVECTOR_DEFAULT_EF_SEARCH, k));
    // the default needs no statement (one round trip less per search)
    const settings = ef === PGVECTOR_DEFAULT_EF_SEARCH ? [] : [`SET LOCAL hnsw.ef_search = ${ef}`];
    // Without iterative scan a filtered HNSW query returns at most ef_search candidates.
    if (filtered) settings.push('SET LOCAL hnsw.iterative_scan = relaxed_order');
    return { settings, candidateLimit: k, exact: false };
  },
  encodeVector: encodeVectorLiteral,
  copyColumnText: (text) => text,
  searchNote: null,
};
