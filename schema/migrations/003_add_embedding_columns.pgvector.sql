-- Embedding columns, pgvector variant: vector(384) (the typmod enforces the dimension).
-- Same step in every dialect: embedding, embedding_model, embedding_text_hash, embedding_status,
-- search_text (target-tables.ts EMBEDDING_COLUMNS) plus the generated full-text vector search_tsv.

ALTER TABLE aqe.memory_entries
  ADD COLUMN embedding vector(384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT memory_entries_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;

ALTER TABLE aqe.learning_experiences
  ADD COLUMN embedding vector(384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT learning_experiences_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;

ALTER TABLE aqe.goap_actions
  ADD COLUMN embedding vector(384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT goap_actions_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;

ALTER TABLE aqe.patterns
  ADD COLUMN embedding vector(384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT patterns_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;

ALTER TABLE aqe.qe_patterns
  ADD COLUMN embedding vector(384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT qe_patterns_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;

ALTER TABLE aqe.sona_patterns
  ADD COLUMN embedding vector(384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT sona_patterns_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;

ALTER TABLE aqe.intelligence_memories
  ADD COLUMN embedding vector(384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT intelligence_memories_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;

ALTER TABLE aqe.claude_flow_memory
  ADD COLUMN embedding vector(384),
  ADD COLUMN embedding_model text,
  ADD COLUMN embedding_text_hash text,
  ADD COLUMN embedding_status text NOT NULL DEFAULT 'none'
    CONSTRAINT claude_flow_memory_embedding_status_check CHECK (embedding_status IN ('pending', 'done', 'none', 'failed')),
  ADD COLUMN search_text text,
  ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
