// The consensus views on hand-computed examples (native PostgreSQL), read through
// `aqe-upload patterns --consensus`: confidence = max, success rate = usage-weighted mean,
// usage = sum, contributing environments; missing and pulled rows left out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { ensureMigrated } from '../../../functions/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { runCliInProcess } from '../uploader/cli-harness.js';

interface P {
  env: string;
  key: string;
  name: string;
  domain?: string;
  confidence: number | null;
  success: number | null;
  usage: number | null;
  missing?: boolean;
}

describe('patterns --consensus', () => {
  let tdb: TestDatabase;
  let db: PgDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase('ops_consensus');
    db = new PgDatabase(tdb.url);
    await ensureMigrated(db);
    const rows: P[] = [
      { env: 'laptop', key: 'p1', name: 'Retry flaky network tests', confidence: 0.6, success: 0.5, usage: 10 },
      { env: 'devpod', key: 'x9', name: 'retry flaky network tests', confidence: 0.9, success: 1.0, usage: 30 },
      { env: 'ci', key: 'c3', name: '  RETRY flaky network tests ', confidence: 0.7, success: null, usage: 5 },
      { env: 'ci', key: 'gone', name: 'Retry flaky network tests', confidence: 1.0, success: 0.0, usage: 1000, missing: true },
      { env: 'laptop', key: 'aqe-pull-0123', name: 'Retry flaky network tests', confidence: 1.0, success: 0.0, usage: 1000 },
      { env: 'laptop', key: 'p2', name: 'Unused idea', confidence: 0.3, success: 0.4, usage: 0 },
      { env: 'devpod', key: 'p2', name: 'Unused idea', confidence: 0.2, success: 0.8, usage: 0 },
      { env: 'ci', key: 'p4', name: 'Mock the clock', domain: 'test-execution', confidence: 0.8, success: 0.25, usage: 4 },
    ];
    for (const r of rows) {
      await db.query(
        `INSERT INTO aqe.qe_patterns (source_env, source_id, source_table, source_key, content_hash, pattern_type, qe_domain, domain, name, confidence, success_rate, usage_count,
           first_run_id, last_run_id, snapshot_at, missing_since)
         VALUES ($1, 'v3-memory', 'qe_patterns', $2, 'h', 'unit-test', $3, 'test', $4, $5, $6, $7, 1, 1, now(), $8)`,
        [r.env, r.key, r.domain ?? 'test-generation', r.name, r.confidence, r.success, r.usage, r.missing ? new Date() : null],
      );
    }
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('merges the same pattern across environments with the documented rules', async () => {
    const r = await runCliInProcess(['patterns', '--consensus', '--json', '--database', tdb.url]);
    expect(r.code, r.stderr).toBe(0);
    const { patterns } = JSON.parse(r.stdout) as { patterns: Array<{ name: string; confidence: number; successRate: number; usageCount: number; environments: string[]; environmentCount: number; rowCount: number }> };
    expect(patterns).toHaveLength(3);
    const retry = patterns[0]!;
    expect(retry).toMatchObject({ name: 'retry flaky network tests', confidence: 0.9, usageCount: 45, environments: ['ci', 'devpod', 'laptop'], environmentCount: 3, rowCount: 3 });
    // (0.5 × 10 + 1.0 × 30) / 40; the ci row has no success rate
    expect(retry.successRate).toBeCloseTo(0.875, 12);
    const unused = patterns.find((p) => p.name.startsWith('Unused'))!;
    // no usage anywhere: plain mean
    expect(unused).toMatchObject({ confidence: 0.3, usageCount: 0, environments: ['devpod', 'laptop'] });
    expect(unused.successRate).toBeCloseTo(0.6, 12);
    const clock = patterns.find((p) => p.name === 'Mock the clock')!;
    expect(clock).toMatchObject({ confidence: 0.8, successRate: 0.25, usageCount: 4, environments: ['ci'] });
  });

  it('filters by domain and by the number of environments; text output lists the environments', async () => {
    const byDomain = JSON.parse((await runCliInProcess(['patterns', '--consensus', '--domain', 'test-execution', '--json', '--database', tdb.url])).stdout) as { patterns: Array<{ name: string }> };
    expect(byDomain.patterns.map((p) => p.name)).toEqual(['Mock the clock']);
    const wide = JSON.parse((await runCliInProcess(['patterns', '--consensus', '--min-envs', '2', '--json', '--database', tdb.url])).stdout) as { patterns: Array<{ name: string }> };
    expect(wide.patterns).toHaveLength(2);
    const text = await runCliInProcess(['patterns', '--consensus', '--database', tdb.url]);
    expect(text.stdout).toMatch(/retry flaky network tests\s+test-generation\s+0\.900\s+0\.875\s+45\s+ci,devpod,laptop/);
    const raw = JSON.parse((await runCliInProcess(['patterns', '--env', 'ci', '--json', '--database', tdb.url])).stdout) as { patterns: Array<{ env: string }> };
    expect(raw.patterns.map((p) => p.env)).toEqual(['ci', 'ci', 'ci'].slice(0, raw.patterns.length));
    expect((await runCliInProcess(['patterns', '--limit', 'x', '--database', tdb.url])).code).toBe(2);
  });
});
