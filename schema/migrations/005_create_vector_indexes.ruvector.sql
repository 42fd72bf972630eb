-- HNSW cosine indexes, ruvector variant: plain CREATE INDEX (CONCURRENTLY indexes rows twice), no WITH
-- (ruvector ignores HNSW options), opclass ruvector_cosine_ops (notes/ruvector.md 1.7, 1.8, 3).

CREATE INDEX memory_entries_embedding_hnsw_idx ON aqe.memory_entries USING hnsw (embedding ruvector_cosine_ops);
CREATE INDEX learning_experiences_embedding_hnsw_idx ON aqe.learning_experiences USING hnsw (embedding ruvector_cosine_ops);
CREATE INDEX goap_actions_embedding_hnsw_idx ON aqe.goap_actions USING hnsw (embedding ruvector_cosine_ops);
CREATE INDEX patterns_embedding_hnsw_idx ON aqe.patterns USING hnsw (embedding ruvector_cosine_ops);
CREATE INDEX qe_patterns_embedding_hnsw_idx ON aqe.qe_patterns USING hnsw (embedding ruvector_cosine_ops);
CREATE INDEX sona_patterns_embedding_hnsw_idx ON aqe.sona_patterns USING hnsw (embedding ruvector_cosine_ops);
CREATE INDEX intelligence_memories_embedding_hnsw_idx ON aqe.intelligence_memories USING hnsw (embedding ruvector_cosine_ops);
CREATE INDEX claude_flow_memory_embedding_hnsw_idx ON aqe.claude_flow_memory USING hnsw (embedding ruvector_cosine_ops);
