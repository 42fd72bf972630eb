-- Snapshots are ordered by when the store created their manifest (ordered_at), not by the time a
-- manifest claims; each run keeps the per-source sync_state entries it replaced (state_before), so
-- a rollback restores them.
ALTER TABLE aqe.sync_runs ADD COLUMN ordered_at timestamptz;
ALTER TABLE aqe.sync_runs ADD COLUMN state_before jsonb;
