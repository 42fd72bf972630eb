-- Full-text search on the row text (search_text → search_tsv), every dialect.

CREATE INDEX memory_entries_search_tsv_idx ON aqe.memory_entries USING gin (search_tsv);
CREATE INDEX learning_experiences_search_tsv_idx ON aqe.learning_experiences USING gin (search_tsv);
CREATE INDEX goap_actions_search_tsv_idx ON aqe.goap_actions USING gin (search_tsv);
CREATE INDEX patterns_search_tsv_idx ON aqe.patterns USING gin (search_tsv);
CREATE INDEX qe_patterns_search_tsv_idx ON aqe.qe_patterns USING gin (search_tsv);
CREATE INDEX sona_patterns_search_tsv_idx ON aqe.sona_patterns USING gin (search_tsv);
CREATE INDEX intelligence_memories_search_tsv_idx ON aqe.intelligence_memories USING gin (search_tsv);
CREATE INDEX claude_flow_memory_search_tsv_idx ON aqe.claude_flow_memory USING gin (search_tsv);
