-- Vectors are labelled by the model's files since this step (functions/embed/model-identity.ts: the
-- published all-MiniLM-L6-v2 by its file hashes, any other model by its fingerprint). Before it,
-- every vector was labelled Xenova/all-MiniLM-L6-v2 whatever model made it (a stand-in's too), so
-- the labels already stored are marked unverified: search never compares them with a known model's
-- vectors and offers `aqe-upload embed --reembed`. The cache was keyed by that label: its entries
-- can no longer be trusted nor found (keys are now the fingerprint), so they are removed (derived
-- data, recomputed on demand).
UPDATE aqe.memory_entries SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.learning_experiences SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.goap_actions SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.patterns SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.qe_patterns SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.sona_patterns SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.intelligence_memories SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.claude_flow_memory SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.kv_entries SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.goap_plans SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.events SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.trajectories SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.metrics SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.source_vectors SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';
UPDATE aqe.source_rows SET embedding_model = 'unverified:' || embedding_model WHERE embedding_model IS NOT NULL AND embedding_model NOT LIKE 'unverified:%';

DELETE FROM aqe.embedding_cache;
