// The migrations whose SQL differs per dialect, as ONE template each, rendered through the
// dialect's fragments (dialect-sql.ts): the embedding column type and its dimension check, the
// HNSW index. schema/migrations/NNN_x.<dialect>.sql are these renderings as they were applied;
// migration-templates.test.ts proves each file equals its rendering, so the checksums recorded in
// existing databases stay valid and a dialect's SQL lives in one place. A new step that differs
// per dialect is written here first and its three renderings saved beside the others.
// The table lists are frozen history: a later table gets its columns from a later step.

import type { DialectSql, VectorDialect } from './dialect-sql.js';

/** One step's per-dialect header (what the variant does differently, in words) and body. */
export interface MigrationTemplate {
  /** Step name, e.g. `003_add_embedding_columns`. */
  name: string;
  header: Record<VectorDialect, string>;
  body(sql: DialectSql): string;
}

/** The embedding and full-text columns of a searchable table (target-tables.ts EMBEDDING_COLUMNS). */
function embeddingColumns(sql: DialectSql, table: string): string {
  const check = sql.dimensionCheck('embedding');
  return [
    `ALTER TABLE aqe.${table}`,
    `  ADD COLUMN embedding ${sql.columnType()}${check === null ? '' : ` CONSTRAINT ${table}_embedding_dims_check CHECK (${check})`},`,
    '  ADD COLUMN embedding_model text,',
    '  ADD COLUMN embedding_text_hash text,',
    "  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'",
    `    CONSTRAINT ${table}_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),`,
    '  ADD COLUMN search_text text,',
    "  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;",
  ].join('\n');
}

const hnsw = (sql: DialectSql, table: string): string | null => {
  const ddl = sql.hnswIndex(`${table}_embedding_hnsw_idx`, `aqe.${table}`, 'embedding', { ifNotExists: false });
  return ddl === null ? null : `${ddl};`;
};

const FIRST_SEARCHABLE = ['memory_entries', 'learning_experiences', 'goap_actions', 'patterns', 'qe_patterns', 'sona_patterns', 'intelligence_memories', 'claude_flow_memory'];
const TEXT_TABLES = ['kv_entries', 'goap_plans', 'events', 'trajectories', 'metrics', 'source_vectors', 'source_rows'];

const SAME_IN_EVERY_DIALECT = `-- Same step in every dialect: embedding, embedding_model, embedding_text_hash, embedding_status,
-- search_text (target-tables.ts EMBEDDING_COLUMNS) plus the generated full-text vector search_tsv.
`;

export const MIGRATION_TEMPLATES: readonly MigrationTemplate[] = [
  {
    name: '003_add_embedding_columns',
    header: {
      none: `-- Embedding columns, no vector extension: real[] with a dimension CHECK; search is an exact scan
-- through aqe.real_cosine_distance (012).
${SAME_IN_EVERY_DIALECT}`,
      pgvector: `-- Embedding columns, pgvector variant: vector(384) (the typmod enforces the dimension).
${SAME_IN_EVERY_DIALECT}`,
      ruvector: `-- Embedding columns, ruvector variant: ruvector(384) does not enforce its typmod, so a CHECK on
-- ruvector_dims does (notes/ruvector.md 1.3). Vectors are written as '[…]' text (no casts exist).
${SAME_IN_EVERY_DIALECT}`,
    },
    body: (sql) => `\n${FIRST_SEARCHABLE.map((t) => embeddingColumns(sql, t)).join('\n\n')}\n`,
  },
  {
    name: '005_create_vector_indexes',
    header: {
      none: '-- No vector extension: no ANN index; k-NN is an exact scan (correct, bounded by table size).\n',
      pgvector: "-- HNSW cosine indexes, pgvector variant (m = 16, ef_construction = 64 are pgvector's defaults, stated).\n",
      ruvector: `-- HNSW cosine indexes, ruvector variant: plain CREATE INDEX (CONCURRENTLY indexes rows twice), no WITH
-- (ruvector ignores HNSW options), opclass ruvector_cosine_ops (notes/ruvector.md 1.7, 1.8, 3).
`,
    },
    body: (sql) => {
      const ddl = FIRST_SEARCHABLE.map((t) => hnsw(sql, t)).filter((d): d is string => d !== null);
      // a step must run something: a dialect without an index says so
      return ddl.length === 0 ? 'SELECT 1;\n' : `\n${ddl.join('\n')}\n`;
    },
  },
  {
    name: '011_create_embedding_cache',
    header: {
      none: `-- Embeddings already computed, keyed by sha256(model id + text), so unchanged text is never
-- embedded twice (none variant).
`,
      pgvector: `-- Embeddings already computed, keyed by sha256(model id + text), so unchanged text is never
-- embedded twice (pgvector variant).
`,
      ruvector: `-- Embeddings already computed, keyed by sha256(model id + text), so unchanged text is never
-- embedded twice (ruvector variant).
`,
    },
    body: (sql) => {
      const check = sql.dimensionCheck('embedding');
      return `CREATE TABLE aqe.embedding_cache (
  text_hash text PRIMARY KEY,
  model text NOT NULL,
  dim integer NOT NULL CHECK (dim = 384),
  embedding ${sql.columnType()} NOT NULL${check === null ? '' : ` CONSTRAINT embedding_cache_embedding_dims_check CHECK (${check})`},
  created_at timestamptz NOT NULL DEFAULT now()
);
`;
    },
  },
  {
    name: '021_add_embeddings_to_text_tables',
    header: {
      none: `-- Every table whose rows can hold words a person wrote is searchable (recipes.ts says which text):
-- embedding columns (as in 003) and the full-text index (as in 004); no vector extension, so no ANN
-- index: k-NN is an exact scan.
`,
      pgvector: `-- Every table whose rows can hold words a person wrote is searchable (recipes.ts says which text):
-- embedding columns (as in 003), the full-text index (as in 004) and the HNSW index (as in 005),
-- pgvector variant.
`,
      ruvector: `-- Every table whose rows can hold words a person wrote is searchable (recipes.ts says which text):
-- embedding columns (as in 003), the full-text index (as in 004) and the HNSW index (as in 005),
-- ruvector variant (CHECK on ruvector_dims; plain CREATE INDEX, no options: notes/ruvector.md).
`,
    },
    body: (sql) =>
      `${TEXT_TABLES.map((t) => [embeddingColumns(sql, t), `CREATE INDEX ${t}_search_tsv_idx ON aqe.${t} USING gin (search_tsv);`, hnsw(sql, t)].filter((l): l is string => l !== null).join('\n')).join('\n\n')}\n`,
  },
];

/** The SQL of `template` for one dialect, as its file `NNN_x.<dialect>.sql` holds it. */
export function renderMigration(template: MigrationTemplate, sql: DialectSql): string {
  return `${template.header[sql.dialect]}${template.body(sql)}`;
}
