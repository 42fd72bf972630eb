// No vector extension: real[] with a dimension CHECK, an exact scan through
// aqe.real_cosine_distance (migration 012), no ANN index. Vectors travel as '[x,y,…]' text like
// the extensions' and are turned into an array literal in SQL.

import { encodeVectorLiteral } from '../copy-encoding.js';
import { checkDim, type DialectSql, EMBEDDING_DIM } from './dialect-sql.js';

export const none: DialectSql = {
  dialect: 'none',
  extension: null,
  vectorType: null,
  columnType: () => 'real[]',
  dimensionCheck: (col, dim = EMBEDDING_DIM) => `array_ndims(${col}) = 1 AND cardinality(${col}) = ${checkDim(dim)}`,
  castText: (expr) => `translate(${expr}, '[]', '{}')::real[]`,
  cosineDistance: (col, vec) => `aqe.real_cosine_distance(${col}, ${vec})`,
  hnswIndex: () => null,
  searchPlan: ({ k }) => ({ settings: [], candidateLimit: k, exact: true }),
  encodeVector: encodeVectorLiteral,
  copyColumnText: (text) => `{${text.slice(1, -1)}}`,
  searchNote: 'exact search: this database has no vector extension (dialect "none"), so every row is compared',
};
