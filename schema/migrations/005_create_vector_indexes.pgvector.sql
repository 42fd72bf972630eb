-- HNSW cosine indexes, pgvector variant (m = 16, ef_construction = 64 are pgvector's defaults, stated).

CREATE INDEX memory_entries_embedding_hnsw_idx ON aqe.memory_entries USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX learning_experiences_embedding_hnsw_idx ON aqe.learning_experiences USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX goap_actions_embedding_hnsw_idx ON aqe.goap_actions USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX patterns_embedding_hnsw_idx ON aqe.patterns USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX qe_patterns_embedding_hnsw_idx ON aqe.qe_patterns USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX sona_patterns_embedding_hnsw_idx ON aqe.sona_patterns USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX intelligence_memories_embedding_hnsw_idx ON aqe.intelligence_memories USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX claude_flow_memory_embedding_hnsw_idx ON aqe.claude_flow_memory USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
