// The vector dialects' SQL, checked against the facts in notes/ruvector.md (ruvector cannot run
// here: no image), and the dialect variants of the migrations checked against dialect.ts.
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { VECTOR_DIALECTS, dialectSql } from '../../../functions/db/dialect.js';
import { defaultMigrationsDir, loadMigrations } from '../../../functions/db/migrate.js';
import { buildMergeSql } from '../../../functions/loader/write/merge-sql.js';
import { TARGET_TABLES } from '../../../schema/tables/target-tables.js';

const embedded = TARGET_TABLES.filter((t) => t.embedded).map((t) => t.name);
const read = async (file: string) => readFile(path.join(defaultMigrationsDir(), file), 'utf8');
/** Every migration file of a dialect (embedding columns and indexes are added by several steps: 003/005, 021). */
const readDialect = async (dialect: string) => {
  const files = (await readdir(defaultMigrationsDir())).filter((f) => f.endsWith(`.${dialect}.sql`)).sort();
  return (await Promise.all(files.map(read))).join('\n');
};
const sqlOnly = (text: string) => text.replace(/--.*$/gm, '');

describe('ruvector dialect (notes/ruvector.md §1, §7)', () => {
  const ru = dialectSql('ruvector');
  const fragments = [ru.columnType(), ru.dimensionCheck('embedding'), ru.castText('$1'), ru.cosineDistance('embedding', ru.castText('$1')), ru.hnswIndex('i', 'aqe.t', 'embedding'), ...ru.searchPlan({ k: 10, filtered: true }).settings];
  const migrationSql = async () => {
    const files = (await readdir(defaultMigrationsDir())).filter((f) => f.endsWith('.ruvector.sql'));
    return sqlOnly((await Promise.all(files.map(read))).join('\n'));
  };
  const mergeSql = TARGET_TABLES.map((t) => {
    const m = buildMergeSql(t, ru);
    return [m.createStage, m.createDecide, m.decide.text, m.undo.text, m.update.text, m.touch.text, m.insert.text, m.markMissing.text].join('\n');
  }).join('\n');

  it('uses the ruvector type with a CHECK on ruvector_dims (typmod is not enforced)', async () => {
    expect(ru.columnType()).toBe('ruvector(384)');
    expect(ru.dimensionCheck('embedding')).toBe('ruvector_dims(embedding) = 384');
    const sql = await readDialect('ruvector');
    for (const t of embedded) {
      expect(sql).toContain(`ALTER TABLE aqe.${t}\n  ADD COLUMN embedding ruvector(384) CONSTRAINT ${t}_embedding_dims_check CHECK (ruvector_dims(embedding) = 384)`);
    }
    expect(await read('011_create_embedding_cache.ruvector.sql')).toContain('embedding ruvector(384) NOT NULL CONSTRAINT embedding_cache_embedding_dims_check CHECK (ruvector_dims(embedding) = 384)');
  });

  it('never creates a `vector` type, never uses CONCURRENTLY, <#>, ::vector or casts from real[]', async () => {
    for (const sql of [fragments.join('\n'), await migrationSql(), mergeSql]) {
      expect(sql).not.toMatch(/(?<![a-z_])vector\s*\(/i); // vector(…) type (ruvector(…) is fine)
      expect(sql).not.toMatch(/CONCURRENTLY/i);
      expect(sql).not.toContain('<#>');
      expect(sql).not.toMatch(/::\s*vector\b/);
      expect(sql).not.toMatch(/real\[\]\s*\)?\s*::\s*ruvector|::\s*real\[\]\s*\)?\s*::\s*ruvector/);
      expect(sql).not.toMatch(/CREATE EXTENSION[^;]*\bvector\b/i);
    }
  });

  it('binds vectors as text literals cast to ruvector', () => {
    expect(ru.castText('$1')).toBe('($1)::ruvector');
    expect(mergeSql).toContain('(d.embedding)::ruvector');
    expect(ru.cosineDistance('embedding', '$1')).toContain('<=>');
  });

  it('builds HNSW indexes with ruvector_cosine_ops, no WITH options (ignored), no CONCURRENTLY', async () => {
    expect(ru.hnswIndex('i', 'aqe.t', 'embedding')).toBe('CREATE INDEX IF NOT EXISTS i ON aqe.t USING hnsw (embedding ruvector_cosine_ops)');
    const sql = await readDialect('ruvector');
    for (const t of embedded) expect(sql).toContain(`CREATE INDEX ${t}_embedding_hnsw_idx ON aqe.${t} USING hnsw (embedding ruvector_cosine_ops);`);
    expect(sqlOnly(sql)).not.toMatch(/WITH\s*\(/i);
  });

  it('plans an exact scan whenever the index could return too few rows (max 100 candidates, post-filtered)', () => {
    expect(ru.searchPlan({ k: 10, filtered: false })).toEqual({ settings: [], candidateLimit: 10, exact: false });
    expect(ru.searchPlan({ k: 10, filtered: true }).exact).toBe(true);
    expect(ru.searchPlan({ k: 200, filtered: false }).exact).toBe(true);
    expect(ru.searchPlan({ k: 10, filtered: true }).settings.join(';')).not.toMatch(/ef_search|hnsw\./);
  });
});

describe('pgvector and none dialects', () => {
  it('pgvector: vector(384), vector_cosine_ops WITH (m = 16, ef_construction = 64), ef_search + iterative scan', async () => {
    const pv = dialectSql('pgvector');
    expect(pv.columnType()).toBe('vector(384)');
    expect(pv.dimensionCheck('embedding')).toBeNull();
    expect(pv.hnswIndex('i', 'aqe.t', 'embedding')).toBe('CREATE INDEX IF NOT EXISTS i ON aqe.t USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)');
    expect(pv.searchPlan({ k: 10, filtered: true, efSearch: 100 }).settings).toEqual(['SET LOCAL hnsw.ef_search = 100', 'SET LOCAL hnsw.iterative_scan = relaxed_order']);
    expect(pv.searchPlan({ k: 5000, filtered: false }).settings).toEqual(['SET LOCAL hnsw.ef_search = 1000']);
    const sql = await readDialect('pgvector');
    for (const t of embedded) expect(sql).toContain(`CREATE INDEX ${t}_embedding_hnsw_idx ON aqe.${t} USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);`);
  });

  it('none: real[] with a dimension CHECK, exact search through aqe.real_cosine_distance, no index', async () => {
    const n = dialectSql('none');
    expect(n.columnType()).toBe('real[]');
    expect(n.hnswIndex('i', 'aqe.t', 'embedding')).toBeNull();
    expect(n.cosineDistance('embedding', '$1')).toBe('aqe.real_cosine_distance(embedding, $1)');
    const sql = await readDialect('none');
    for (const t of embedded) expect(sql).toContain(`ADD COLUMN embedding real[] CONSTRAINT ${t}_embedding_dims_check CHECK (${n.dimensionCheck('embedding')})`);
  });

  it('every dialect-specific step has exactly one variant per dialect', async () => {
    const steps = await loadMigrations();
    for (const step of steps) {
      const dialects = step.files.map((f) => f.dialect);
      if (dialects.includes(null)) expect(dialects).toEqual([null]);
      else expect([...dialects].sort()).toEqual([...VECTOR_DIALECTS].sort());
    }
    expect(steps.map((s) => s.name)).toContain('003_add_embedding_columns');
  });
});
