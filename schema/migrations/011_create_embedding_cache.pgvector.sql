-- Embeddings already computed, keyed by sha256(model id + text), so unchanged text is never
-- embedded twice (pgvector variant).
CREATE TABLE aqe.embedding_cache (
  text_hash text PRIMARY KEY,
  model text NOT NULL,
  dim integer NOT NULL CHECK (dim = 384),
  embedding vector(384) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
