-- Cross-environment knowledge, derived and never stored over the raw rows: the same pattern seen
-- in several environments merged into one row, with confidence = max, success rate =
-- usage-weighted mean (plain mean when no row has usage), usage = sum, and the contributing
-- environments. "The same pattern" = same type, same domain and same name (case and surrounding
-- blanks ignored): ids are random per environment. Rows gone from their source (missing_since)
-- and rows that `aqe-upload pull` wrote into a workspace (ids starting with 'aqe-pull-') are left
-- out, so pulled knowledge is not counted twice when that workspace pushes it back.
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
