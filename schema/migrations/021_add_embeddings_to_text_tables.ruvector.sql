-- Every table whose rows can hold words a person wrote is searchable (recipes.ts says which text):
-- embedding columns (as in 003), the full-text index (as in 004) and the HNSW index (as in 005),
-- ruvector variant (CHECK on ruvector_dims; plain CREATE INDEX, no options: notes/ruvector.md).
ALTER TABLE aqe.kv_entries
  ADD COLUMN embedding ruvector(384) CONSTRAINT kv_entries_embedding_dims_check CHECK (ruvector_dims(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT kv_entries_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX kv_entries_search_tsv_idx ON aqe.kv_entries USING gin (search_tsv);
CREATE INDEX kv_entries_embedding_hnsw_idx ON aqe.kv_entries USING hnsw (embedding ruvector_cosine_ops);

ALTER TABLE aqe.goap_plans
  ADD COLUMN embedding ruvector(384) CONSTRAINT goap_plans_embedding_dims_check CHECK (ruvector_dims(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT goap_plans_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX goap_plans_search_tsv_idx ON aqe.goap_plans USING gin (search_tsv);
CREATE INDEX goap_plans_embedding_hnsw_idx ON aqe.goap_plans USING hnsw (embedding ruvector_cosine_ops);

ALTER TABLE aqe.events
  ADD COLUMN embedding ruvector(384) CONSTRAINT events_embedding_dims_check CHECK (ruvector_dims(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT events_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX events_search_tsv_idx ON aqe.events USING gin (search_tsv);
CREATE INDEX events_embedding_hnsw_idx ON aqe.events USING hnsw (embedding ruvector_cosine_ops);

ALTER TABLE aqe.trajectories
  ADD COLUMN embedding ruvector(384) CONSTRAINT trajectories_embedding_dims_check CHECK (ruvector_dims(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT trajectories_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX trajectories_search_tsv_idx ON aqe.trajectories USING gin (search_tsv);
CREATE INDEX trajectories_embedding_hnsw_idx ON aqe.trajectories USING hnsw (embedding ruvector_cosine_ops);

ALTER TABLE aqe.metrics
  ADD COLUMN embedding ruvector(384) CONSTRAINT metrics_embedding_dims_check CHECK (ruvector_dims(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT metrics_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX metrics_search_tsv_idx ON aqe.metrics USING gin (search_tsv);
CREATE INDEX metrics_embedding_hnsw_idx ON aqe.metrics USING hnsw (embedding ruvector_cosine_ops);

ALTER TABLE aqe.source_vectors
  ADD COLUMN embedding ruvector(384) CONSTRAINT source_vectors_embedding_dims_check CHECK (ruvector_dims(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT source_vectors_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX source_vectors_search_tsv_idx ON aqe.source_vectors USING gin (search_tsv);
CREATE INDEX source_vectors_embedding_hnsw_idx ON aqe.source_vectors USING hnsw (embedding ruvector_cosine_ops);

ALTER TABLE aqe.source_rows
  ADD COLUMN embedding ruvector(384) CONSTRAINT source_rows_embedding_dims_check CHECK (ruvector_dims(embedding) = 384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT source_rows_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX source_rows_search_tsv_idx ON aqe.source_rows USING gin (search_tsv);
CREATE INDEX source_rows_embedding_hnsw_idx ON aqe.source_rows USING hnsw (embedding ruvector_cosine_ops);
