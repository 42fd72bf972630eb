// The three vector dialects (ruvector-postgres, pgvector, none), each in dialects/<name>.ts with the
// few SQL fragments that differ between them (dialects/dialect-sql.ts), picked by name here (the
// name recorded in aqe.schema_migrations). Which one a database supports: dialects/detect-dialect.ts.
// Everything else in our SQL is identical (notes/ruvector.md §1.9, §7). Code above functions/db
// reads the dialect from its Database handle (`db.dialect`), never picks one by name.
import type { DialectSql, VectorDialect } from './dialects/dialect-sql.js';
import { none } from './dialects/none.js';
import { pgvector } from './dialects/pgvector.js';
import { ruvector } from './dialects/ruvector.js';

export { type DialectSql, EMBEDDING_DIM, type SearchPlan, type VectorDialect } from './dialects/dialect-sql.js';

/** Every dialect, in order of preference when a database could take several (ruvector: the production image). */
export const VECTOR_DIALECTS: readonly VectorDialect[] = ['ruvector', 'pgvector', 'none'];

export function isVectorDialect(value: unknown): value is VectorDialect {
  return typeof value === 'string' && (VECTOR_DIALECTS as readonly string[]).includes(value);
}

const DIALECTS: Record<VectorDialect, DialectSql> = { pgvector, ruvector, none };

/** The SQL fragments of `dialect` (one module per dialect in dialects/). */
export function dialectSql(dialect: VectorDialect): DialectSql {
  return DIALECTS[dialect];
}
