-- intelligence.json's 64-d hash vectors are float64 in the source: kept exactly (double precision),
-- not rounded to real. Rows loaded before this step hold the rounded values until their source is
-- read again (MAPPING_VERSION 2 rewrites every row once).

ALTER TABLE aqe.intelligence_memories ALTER COLUMN hash_embedding TYPE double precision[];
