-- Leaner rows (issue 18): the two sha256 columns of every synced table are stored as their 32 bytes
-- (bytea) instead of 64 hex characters plus a length byte: content_hash on every table,
-- embedding_text_hash on the searchable ones. Measured by the pgloader bench's per-column table:
-- 65 bytes each, together 130 of ~410 heap bytes per narrow row (33 each as bytea). Names stay; read them
-- as hex with encode(content_hash, 'hex'). Every stored value is a lowercase sha256 hex written by
-- the loader; anything else (never written by it) keeps its bytes as UTF-8 rather than failing the
-- step. The undo log's pre-images (jsonb) hold these columns as text: they are rewritten in bytea's
-- text form ('\x' + hex), which jsonb_populate_record reads back as the same 32 bytes, so a
-- rollback of a run loaded before this step restores them exactly.
-- Each ALTER rewrites its table and rebuilds its indexes once.
-- The consensus views (013) read every column of their tables (q.*): dropped for the type change
-- and created again, unchanged.
DROP VIEW aqe.qe_pattern_consensus;
DROP VIEW aqe.pattern_consensus;

ALTER TABLE aqe.memory_entries ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.kv_entries ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.learning_experiences ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.goap_actions ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.goap_plans ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.patterns ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.events ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.qe_patterns ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.sona_patterns ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.qlearning_patterns ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END;

ALTER TABLE aqe.q_values ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END;

ALTER TABLE aqe.intelligence_memories ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.trajectories ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.claude_flow_memory ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.claude_flow_workers ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END;

ALTER TABLE aqe.metrics ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.source_vectors ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

ALTER TABLE aqe.source_rows ALTER COLUMN content_hash TYPE bytea USING CASE WHEN content_hash ~ '^[0-9a-f]{64}$' THEN decode(content_hash, 'hex') ELSE convert_to(content_hash, 'UTF8') END,
  ALTER COLUMN embedding_text_hash TYPE bytea USING CASE WHEN embedding_text_hash ~ '^[0-9a-f]{64}$' THEN decode(embedding_text_hash, 'hex') ELSE convert_to(embedding_text_hash, 'UTF8') END;

UPDATE aqe.undo_log SET pre_image = pre_image || jsonb_build_object('content_hash', '\x' || (pre_image->>'content_hash'))
WHERE pre_image ? 'content_hash' AND pre_image->>'content_hash' ~ '^[0-9a-f]{64}$';
UPDATE aqe.undo_log SET pre_image = pre_image || jsonb_build_object('embedding_text_hash', '\x' || (pre_image->>'embedding_text_hash'))
WHERE pre_image ? 'embedding_text_hash' AND pre_image->>'embedding_text_hash' ~ '^[0-9a-f]{64}$';

CREATE VIEW aqe.qe_pattern_consensus AS
SELECT
  md5(coalesce(p.pattern_type, '') || chr(31) || coalesce(p.domain_key, '') || chr(31) || p.name_key) AS pattern_key,
  p.pattern_type,
  p.domain_key AS qe_domain,
  (array_agg(p.name ORDER BY p.confidence DESC NULLS LAST, p.updated_at DESC NULLS LAST, p.source_env, p.source_key))[1] AS name,
  (array_agg(p.description ORDER BY p.confidence DESC NULLS LAST, p.updated_at DESC NULLS LAST, p.source_env, p.source_key))[1] AS description,
  (array_agg(p.domain ORDER BY p.confidence DESC NULLS LAST, p.updated_at DESC NULLS LAST, p.source_env, p.source_key))[1] AS domain,
  max(p.confidence) AS confidence,
  coalesce(
    sum(p.success_rate * p.usage_count) FILTER (WHERE p.success_rate IS NOT NULL AND p.usage_count > 0)
      / nullif(sum(p.usage_count) FILTER (WHERE p.success_rate IS NOT NULL AND p.usage_count > 0), 0),
    avg(p.success_rate)
  ) AS success_rate,
  coalesce(sum(p.usage_count), 0)::bigint AS usage_count,
  coalesce(sum(p.successful_uses), 0)::bigint AS successful_uses,
  max(p.quality_score) AS quality_score,
  (array_agg(p.tier ORDER BY p.confidence DESC NULLS LAST, p.updated_at DESC NULLS LAST, p.source_env, p.source_key))[1] AS tier,
  (array_agg(p.template ORDER BY p.confidence DESC NULLS LAST, p.updated_at DESC NULLS LAST, p.source_env, p.source_key))[1] AS template,
  (array_agg(p.context ORDER BY p.confidence DESC NULLS LAST, p.updated_at DESC NULLS LAST, p.source_env, p.source_key))[1] AS context,
  array_agg(DISTINCT p.source_env ORDER BY p.source_env) AS environments,
  count(DISTINCT p.source_env)::integer AS environment_count,
  count(*)::integer AS row_count,
  min(p.created_at) AS created_at,
  max(p.updated_at) AS updated_at,
  max(p.last_used_at) AS last_used_at
FROM (
  SELECT q.*, coalesce(q.qe_domain, q.domain) AS domain_key, lower(btrim(coalesce(q.name, ''))) AS name_key
  FROM aqe.qe_patterns q
  WHERE q.missing_since IS NULL AND q.source_key NOT LIKE 'aqe-pull-%'
) p
GROUP BY p.pattern_type, p.domain_key, p.name_key;

-- The older agentic-qe `patterns` table (v1/v2): the same pattern = same text and domain.
CREATE VIEW aqe.pattern_consensus AS
SELECT
  md5(coalesce(p.domain, '') || chr(31) || p.pattern_key_text) AS pattern_key,
  (array_agg(p.pattern ORDER BY p.confidence DESC NULLS LAST, p.source_updated_at DESC NULLS LAST, p.source_env, p.source_key))[1] AS pattern,
  p.domain,
  max(p.confidence) AS confidence,
  coalesce(
    sum(p.success_rate * p.usage_count) FILTER (WHERE p.success_rate IS NOT NULL AND p.usage_count > 0)
      / nullif(sum(p.usage_count) FILTER (WHERE p.success_rate IS NOT NULL AND p.usage_count > 0), 0),
    avg(p.success_rate)
  ) AS success_rate,
  coalesce(sum(p.usage_count), 0)::bigint AS usage_count,
  array_agg(DISTINCT p.source_env ORDER BY p.source_env) AS environments,
  count(DISTINCT p.source_env)::integer AS environment_count,
  count(*)::integer AS row_count,
  min(p.created_at) AS created_at
FROM (
  SELECT q.*, lower(btrim(coalesce(q.pattern, ''))) AS pattern_key_text
  FROM aqe.patterns q
  WHERE q.missing_since IS NULL AND q.source_key NOT LIKE 'aqe-pull-%'
) p
GROUP BY p.domain, p.pattern_key_text;
