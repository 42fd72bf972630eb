-- Every table whose rows can hold words a person wrote is searchable (recipes.ts says which text):
-- embedding columns (as in 003) and the full-text index (as in 004); no vector extension, so no ANN
-- index: k-NN is an exact scan.
ALTER TABLE aqe.kv_entries
  ADD COLUMN embedding real[] CONSTRAINT kv_entries_embedding_dims_check CHECK (array_ndims(embedding) = 1 AND cardinality(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT kv_entries_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX kv_entries_search_tsv_idx ON aqe.kv_entries USING gin (search_tsv);

ALTER TABLE aqe.goap_plans
  ADD COLUMN embedding real[] CONSTRAINT goap_plans_embedding_dims_check CHECK (array_ndims(embedding) = 1 AND cardinality(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT goap_plans_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX goap_plans_search_tsv_idx ON aqe.goap_plans USING gin (search_tsv);

ALTER TABLE aqe.events
  ADD COLUMN embedding real[] CONSTRAINT events_embedding_dims_check CHECK (array_ndims(embedding) = 1 AND cardinality(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT events_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX events_search_tsv_idx ON aqe.events USING gin (search_tsv);

ALTER TABLE aqe.trajectories
  ADD COLUMN embedding real[] CONSTRAINT trajectories_embedding_dims_check CHECK (array_ndims(embedding) = 1 AND cardinality(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT trajectories_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX trajectories_search_tsv_idx ON aqe.trajectories USING gin (search_tsv);

ALTER TABLE aqe.metrics
  ADD COLUMN embedding real[] CONSTRAINT metrics_embedding_dims_check CHECK (array_ndims(embedding) = 1 AND cardinality(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT metrics_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX metrics_search_tsv_idx ON aqe.metrics USING gin (search_tsv);

ALTER TABLE aqe.source_vectors
  ADD COLUMN embedding real[] CONSTRAINT source_vectors_embedding_dims_check CHECK (array_ndims(embedding) = 1 AND cardinality(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT source_vectors_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX source_vectors_search_tsv_idx ON aqe.source_vectors USING gin (search_tsv);

ALTER TABLE aqe.source_rows
  ADD COLUMN embedding real[] CONSTRAINT source_rows_embedding_dims_check CHECK (array_ndims(embedding) = 1 AND cardinality(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT source_rows_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX source_rows_search_tsv_idx ON aqe.source_rows USING gin (search_tsv);
