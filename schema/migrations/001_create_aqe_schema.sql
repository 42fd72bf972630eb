-- The schema every aqe-cloud-sync object lives in. (The migrator creates it too, before its own
-- aqe.schema_migrations table; this step keeps the history complete on its own.)
CREATE SCHEMA IF NOT EXISTS aqe;
