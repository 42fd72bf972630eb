-- Database-wide settings the loader reads (e.g. vector_dialect, written by the migrator).
CREATE TABLE aqe.settings (
  key text PRIMARY KEY,
  value text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
