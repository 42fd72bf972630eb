-- Embeddings already computed, keyed by sha256(model id + text), so unchanged text is never
-- embedded twice (none variant).
CREATE TABLE aqe.embedding_cache (
  text_hash text PRIMARY KEY,
  model text NOT NULL,
  dim integer NOT NULL CHECK (dim = 384),
  embedding real[] NOT NULL CONSTRAINT embedding_cache_embedding_dims_check CHECK (array_ndims(embedding) = 1 AND cardinality(embedding) = 384),
  created_at timestamptz NOT NULL DEFAULT now()
);
