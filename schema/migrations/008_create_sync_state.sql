-- Per environment: the last snapshot loaded and the last success (staleness alerts, status).
CREATE TABLE aqe.sync_state (
  env text PRIMARY KEY,
  last_snapshot_id text,
  last_snapshot_at timestamptz,
  last_run_id bigint,
  last_success_at timestamptz,
  sources jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);
