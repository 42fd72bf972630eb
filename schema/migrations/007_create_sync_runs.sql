-- One row per snapshot load (manifest sha UNIQUE: a redelivered manifest is acknowledged without
-- work), with the merge decisions counted.
CREATE TABLE aqe.sync_runs (
  id bigserial PRIMARY KEY,
  manifest_sha text NOT NULL UNIQUE,
  env text NOT NULL,
  snapshot_id text NOT NULL,
  manifest_key text NOT NULL,
  snapshot_created_at timestamptz,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'quarantined', 'rolled_back')),
  rows_read bigint NOT NULL DEFAULT 0,
  rows_inserted bigint NOT NULL DEFAULT 0,
  rows_updated bigint NOT NULL DEFAULT 0,
  rows_unchanged bigint NOT NULL DEFAULT 0,
  rows_kept_newer bigint NOT NULL DEFAULT 0,
  rows_missing bigint NOT NULL DEFAULT 0,
  rows_quarantined bigint NOT NULL DEFAULT 0,
  table_counts jsonb NOT NULL DEFAULT '{}'::jsonb,
  warnings jsonb NOT NULL DEFAULT '[]'::jsonb,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  duration_ms bigint,
  error text
);

CREATE INDEX sync_runs_env_started_idx ON aqe.sync_runs (env, started_at DESC);
