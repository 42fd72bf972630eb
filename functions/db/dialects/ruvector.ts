// ruvector-postgres: ef_search GUCs are ignored, an index scan yields at most 100 candidates that
// a WHERE filters afterwards, HNSW WITH options are ignored, `<#>` has the opposite sign, no casts
// from real[], typmod not enforced (notes/ruvector.md §1.3–1.8). So: CHECK on ruvector_dims, text
// literals only, plain CREATE INDEX, and an exact scan whenever the index could under-deliver.

import { encodeVectorLiteral } from '../copy-encoding.js';
import { checkDim, type DialectSql, EMBEDDING_DIM, ifNotExists } from './dialect-sql.js';

const RUVECTOR_INDEX_CANDIDATES = 100;

export const ruvector: DialectSql = {
  dialect: 'ruvector',
  extension: 'ruvector',
  vectorType: 'ruvector',
  columnType: (dim = EMBEDDING_DIM) => `ruvector(${checkDim(dim)})`,
  dimensionCheck: (col, dim = EMBEDDING_DIM) => `ruvector_dims(${col}) = ${checkDim(dim)}`,
  castText: (expr) => `(${expr})::ruvector`,
  cosineDistance: (col, vec) => `(${col} <=> ${vec})`,
  hnswIndex: (name, table, col, options) => `CREATE INDEX ${ifNotExists(options)}${name} ON ${table} USING hnsw (${col} ruvector_cosine_ops)`,
  searchPlan: ({ k, filtered }) => {
    if (filtered || k > RUVECTOR_INDEX_CANDIDATES) {
      return { settings: ['SET LOCAL enable_indexscan = off', 'SET LOCAL enable_bitmapscan = off'], candidateLimit: k, exact: true };
    }
    return { settings: [], candidateLimit: k, exact: false };
  },
  encodeVector: encodeVectorLiteral,
  copyColumnText: (text) => text,
  searchNote: null,
};
