// Reading cross-environment patterns: the consensus views of migration 013 (the same pattern in
// several environments merged) and the raw per-environment rows, for `aqe-upload patterns`.

import type { Queryable } from '../db/database.js';

export interface ConsensusPattern {
  patternKey: string;
  patternType: string | null;
  qeDomain: string | null;
  domain: string | null;
  name: string | null;
  description: string | null;
  confidence: number | null;
  successRate: number | null;
  usageCount: number;
  successfulUses: number;
  qualityScore: number | null;
  tier: string | null;
  template: unknown;
  context: unknown;
  environments: string[];
  environmentCount: number;
  rowCount: number;
  createdAt: string | null;
  updatedAt: string | null;
}

export interface PatternRow {
  env: string;
  sourceId: string;
  id: string;
  patternType: string | null;
  qeDomain: string | null;
  domain: string | null;
  name: string | null;
  confidence: number | null;
  successRate: number | null;
  usageCount: number;
  updatedAt: string | null;
}

export interface PatternQuery {
  /** Matches qe_domain or domain. */
  domain?: string;
  /** Only patterns seen in at least this many environments (consensus). */
  minEnvironments?: number;
  /** Only these environments' rows (raw) / patterns they contributed to (consensus). */
  envs?: readonly string[];
  limit?: number;
}

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const textArray = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : typeof v === 'string' ? v.replace(/^\{|\}$/g, '').split(',').filter(Boolean) : []);

/**
 * The qe_patterns consensus, most widely seen first.
 * @example const top = await listConsensus(db, { domain: 'test-generation', minEnvironments: 2 });
 */
/** The merged-pattern columns shared by the consensus view and the pull query. */
function consensusColumns(r: Record<string, unknown>) {
  return {
    patternKey: String(r['pattern_key']),
    patternType: (r['pattern_type'] as string | null) ?? null,
    qeDomain: (r['qe_domain'] as string | null) ?? null,
    domain: (r['domain'] as string | null) ?? null,
    name: (r['name'] as string | null) ?? null,
    description: (r['description'] as string | null) ?? null,
    confidence: numOrNull(r['confidence']),
    successRate: numOrNull(r['success_rate']),
    usageCount: Number(r['usage_count'] ?? 0),
    successfulUses: Number(r['successful_uses'] ?? 0),
    qualityScore: numOrNull(r['quality_score']),
    tier: (r['tier'] as string | null) ?? null,
    template: r['template'] ?? null,
    context: r['context'] ?? null,
  };
}

export async function listConsensus(db: Queryable, q: PatternQuery = {}): Promise<ConsensusPattern[]> {
  const res = await db.query<Record<string, unknown>>(
    `SELECT * FROM aqe.qe_pattern_consensus c
     WHERE ($1::text IS NULL OR c.qe_domain = $1 OR c.domain = $1)
       AND c.environment_count >= $2
       AND ($3::text[] IS NULL OR c.environments && $3::text[])
     ORDER BY c.environment_count DESC, c.confidence DESC NULLS LAST, c.usage_count DESC, c.pattern_key
     LIMIT $4`,
    [q.domain ?? null, q.minEnvironments ?? 1, q.envs ? [...q.envs] : null, q.limit ?? 1000],
  );
  return res.rows.map((r) => ({
    ...consensusColumns(r),
    environments: textArray(r['environments']),
    environmentCount: Number(r['environment_count']),
    rowCount: Number(r['row_count']),
    createdAt: isoOrNull(r['created_at']),
    updatedAt: isoOrNull(r['updated_at']),
  }));
}

/** Raw qe_patterns rows per environment (present rows), highest confidence first. */
export async function listPatterns(db: Queryable, q: PatternQuery = {}): Promise<PatternRow[]> {
  const res = await db.query<Record<string, unknown>>(
    `SELECT source_env, source_id, source_key, pattern_type, qe_domain, domain, name, confidence, success_rate, usage_count, updated_at
     FROM aqe.qe_patterns
     WHERE missing_since IS NULL AND ($1::text IS NULL OR qe_domain = $1 OR domain = $1) AND ($2::text[] IS NULL OR source_env = ANY($2::text[]))
     ORDER BY confidence DESC NULLS LAST, usage_count DESC NULLS LAST, source_env, source_key
     LIMIT $3`,
    [q.domain ?? null, q.envs ? [...q.envs] : null, q.limit ?? 1000],
  );
  return res.rows.map((r) => ({
    env: String(r['source_env']),
    sourceId: String(r['source_id']),
    id: String(r['source_key']),
    patternType: (r['pattern_type'] as string | null) ?? null,
    qeDomain: (r['qe_domain'] as string | null) ?? null,
    domain: (r['domain'] as string | null) ?? null,
    name: (r['name'] as string | null) ?? null,
    confidence: numOrNull(r['confidence']),
    successRate: numOrNull(r['success_rate']),
    usageCount: Number(r['usage_count'] ?? 0),
    updatedAt: isoOrNull(r['updated_at']),
  }));
}

/** A pattern to pull: the consensus over some environments, with the winning row's unmodelled source columns. */
export interface PullCandidate extends ConsensusPattern {
  /** `extra` of the row with the highest confidence (source columns the cloud does not model). */
  extra: Record<string, unknown> | null;
  lastUsedAt: string | null;
  /** `<env>/<source_id>/<source_key>` of every row merged. */
  origins: string[];
}

/**
 * The qe_patterns consensus over the rows of `envs` (all environments but `excludeEnv` when null):
 * the same rules as the aqe.qe_pattern_consensus view, restricted to the chosen environments.
 */
export async function consensusForPull(db: Queryable, options: { envs: readonly string[] | null; excludeEnv: string; domain?: string }): Promise<PullCandidate[]> {
  const order = 'ORDER BY p.confidence DESC NULLS LAST, p.updated_at DESC NULLS LAST, p.source_env, p.source_key';
  const res = await db.query<Record<string, unknown>>(
    `SELECT
       md5(coalesce(p.pattern_type, '') || chr(31) || coalesce(p.domain_key, '') || chr(31) || p.name_key) AS pattern_key,
       p.pattern_type, p.domain_key AS qe_domain,
       (array_agg(p.name ${order}))[1] AS name, (array_agg(p.description ${order}))[1] AS description, (array_agg(p.domain ${order}))[1] AS domain,
       max(p.confidence) AS confidence,
       coalesce(sum(p.success_rate * p.usage_count) FILTER (WHERE p.success_rate IS NOT NULL AND p.usage_count > 0)
         / nullif(sum(p.usage_count) FILTER (WHERE p.success_rate IS NOT NULL AND p.usage_count > 0), 0), avg(p.success_rate)) AS success_rate,
       coalesce(sum(p.usage_count), 0)::bigint AS usage_count, coalesce(sum(p.successful_uses), 0)::bigint AS successful_uses,
       max(p.quality_score) AS quality_score, (array_agg(p.tier ${order}))[1] AS tier,
       (array_agg(p.template ${order}))[1] AS template, (array_agg(p.context ${order}))[1] AS context, (array_agg(p.extra ${order}))[1] AS extra,
       array_agg(DISTINCT p.source_env ORDER BY p.source_env) AS environments, count(DISTINCT p.source_env)::integer AS environment_count,
       count(*)::integer AS row_count, min(p.created_at) AS created_at, max(p.updated_at) AS updated_at, max(p.last_used_at) AS last_used_at,
       array_agg(p.source_env || '/' || p.source_id || '/' || p.source_key ORDER BY p.source_env, p.source_id, p.source_key) AS origins
     FROM (
       SELECT q.*, coalesce(q.qe_domain, q.domain) AS domain_key, lower(btrim(coalesce(q.name, ''))) AS name_key
       FROM aqe.qe_patterns q
       WHERE q.missing_since IS NULL AND q.source_key NOT LIKE 'aqe-pull-%' AND q.source_env <> $1
         AND ($2::text[] IS NULL OR q.source_env = ANY($2::text[]))
         AND ($3::text IS NULL OR q.qe_domain = $3 OR q.domain = $3)
     ) p
     GROUP BY p.pattern_type, p.domain_key, p.name_key
     ORDER BY 1`,
    [options.excludeEnv, options.envs ? [...options.envs] : null, options.domain ?? null],
  );
  return res.rows.map((r) => ({
    ...consensusColumns(r),
    extra: (r['extra'] as Record<string, unknown> | null) ?? null,
    environments: textArray(r['environments']),
    environmentCount: Number(r['environment_count']),
    rowCount: Number(r['row_count']),
    createdAt: isoOrNull(r['created_at']),
    updatedAt: isoOrNull(r['updated_at']),
    lastUsedAt: isoOrNull(r['last_used_at']),
    origins: textArray(r['origins']),
  }));
}
