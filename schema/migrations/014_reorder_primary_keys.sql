-- The natural key (source_env, source_id, source_table, source_key) stays the key; its index now
-- leads with source_key, the column that tells rows apart. PostgreSQL sorts an index build (the
-- first load into an empty table drops and rebuilds it) with abbreviated keys taken from the first
-- column only: led by source_env, whose value every row of an environment shares, each of the ~20M
-- comparisons of a 1M-row build walked all four text columns (measured 2.3-4.0 s); led by
-- source_key it takes 0.7 s, plus 0.5 s for the (source_env, source_id, source_table) index that
-- now serves the per-environment and per-source lookups (is anything stored, mark missing, status).

ALTER TABLE aqe.memory_entries DROP CONSTRAINT memory_entries_pkey, ADD CONSTRAINT memory_entries_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX memory_entries_source_idx ON aqe.memory_entries (source_env, source_id, source_table);

ALTER TABLE aqe.kv_entries DROP CONSTRAINT kv_entries_pkey, ADD CONSTRAINT kv_entries_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX kv_entries_source_idx ON aqe.kv_entries (source_env, source_id, source_table);

ALTER TABLE aqe.learning_experiences DROP CONSTRAINT learning_experiences_pkey, ADD CONSTRAINT learning_experiences_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX learning_experiences_source_idx ON aqe.learning_experiences (source_env, source_id, source_table);

ALTER TABLE aqe.goap_actions DROP CONSTRAINT goap_actions_pkey, ADD CONSTRAINT goap_actions_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX goap_actions_source_idx ON aqe.goap_actions (source_env, source_id, source_table);

ALTER TABLE aqe.goap_plans DROP CONSTRAINT goap_plans_pkey, ADD CONSTRAINT goap_plans_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX goap_plans_source_idx ON aqe.goap_plans (source_env, source_id, source_table);

ALTER TABLE aqe.patterns DROP CONSTRAINT patterns_pkey, ADD CONSTRAINT patterns_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX patterns_source_idx ON aqe.patterns (source_env, source_id, source_table);

ALTER TABLE aqe.events DROP CONSTRAINT events_pkey, ADD CONSTRAINT events_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX events_source_idx ON aqe.events (source_env, source_id, source_table);

ALTER TABLE aqe.qe_patterns DROP CONSTRAINT qe_patterns_pkey, ADD CONSTRAINT qe_patterns_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX qe_patterns_source_idx ON aqe.qe_patterns (source_env, source_id, source_table);

ALTER TABLE aqe.sona_patterns DROP CONSTRAINT sona_patterns_pkey, ADD CONSTRAINT sona_patterns_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX sona_patterns_source_idx ON aqe.sona_patterns (source_env, source_id, source_table);

ALTER TABLE aqe.qlearning_patterns DROP CONSTRAINT qlearning_patterns_pkey, ADD CONSTRAINT qlearning_patterns_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX qlearning_patterns_source_idx ON aqe.qlearning_patterns (source_env, source_id, source_table);

ALTER TABLE aqe.q_values DROP CONSTRAINT q_values_pkey, ADD CONSTRAINT q_values_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX q_values_source_idx ON aqe.q_values (source_env, source_id, source_table);

ALTER TABLE aqe.intelligence_memories DROP CONSTRAINT intelligence_memories_pkey, ADD CONSTRAINT intelligence_memories_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX intelligence_memories_source_idx ON aqe.intelligence_memories (source_env, source_id, source_table);

ALTER TABLE aqe.trajectories DROP CONSTRAINT trajectories_pkey, ADD CONSTRAINT trajectories_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX trajectories_source_idx ON aqe.trajectories (source_env, source_id, source_table);

ALTER TABLE aqe.claude_flow_memory DROP CONSTRAINT claude_flow_memory_pkey, ADD CONSTRAINT claude_flow_memory_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX claude_flow_memory_source_idx ON aqe.claude_flow_memory (source_env, source_id, source_table);

ALTER TABLE aqe.claude_flow_workers DROP CONSTRAINT claude_flow_workers_pkey, ADD CONSTRAINT claude_flow_workers_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX claude_flow_workers_source_idx ON aqe.claude_flow_workers (source_env, source_id, source_table);

ALTER TABLE aqe.metrics DROP CONSTRAINT metrics_pkey, ADD CONSTRAINT metrics_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX metrics_source_idx ON aqe.metrics (source_env, source_id, source_table);

ALTER TABLE aqe.source_vectors DROP CONSTRAINT source_vectors_pkey, ADD CONSTRAINT source_vectors_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX source_vectors_source_idx ON aqe.source_vectors (source_env, source_id, source_table);

ALTER TABLE aqe.source_rows DROP CONSTRAINT source_rows_pkey, ADD CONSTRAINT source_rows_pkey PRIMARY KEY (source_key, source_table, source_id, source_env);
CREATE INDEX source_rows_source_idx ON aqe.source_rows (source_env, source_id, source_table);
