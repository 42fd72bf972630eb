-- Pre-images of rows a run changed (op update / missing) and keys of rows it inserted, so that
-- a run can be rolled back.
CREATE TABLE aqe.undo_log (
  id bigserial PRIMARY KEY,
  run_id bigint NOT NULL,
  table_name text NOT NULL,
  source_env text NOT NULL,
  source_id text NOT NULL,
  source_table text NOT NULL,
  source_key text NOT NULL,
  op text NOT NULL CHECK (op IN ('insert', 'update', 'missing')),
  pre_image jsonb
);

CREATE INDEX undo_log_run_idx ON aqe.undo_log (run_id, table_name);
