-- Snapshots that could not be loaded, with the error report; nothing of them was written.
CREATE TABLE aqe.quarantine (
  id bigserial PRIMARY KEY,
  env text NOT NULL,
  snapshot_id text,
  manifest_key text NOT NULL,
  manifest_sha text,
  code text NOT NULL,
  reason text NOT NULL,
  transient boolean NOT NULL DEFAULT false,
  report jsonb NOT NULL DEFAULT '{}'::jsonb,
  quarantined_at timestamptz NOT NULL DEFAULT now(),
  retry_count integer NOT NULL DEFAULT 0,
  resolved_at timestamptz
);

CREATE INDEX quarantine_open_idx ON aqe.quarantine (manifest_key) WHERE resolved_at IS NULL;
