// pull into a v3 runtime database written by the workspace builder (native PostgreSQL as the
// cloud): patterns of other environments land in the tool's own columns with provenance and a
// backup, the tool's own rows are untouched, a second pull adds nothing, a held write lock and a
// schema without what pull needs are refused with a clear message.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { ensureMigrated } from '../../../functions/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { runCliInProcess, tempFolder } from '../uploader/cli-harness.js';
import { sqliteAll } from './ops-support.js';

const V3 = 'v3/.agentic-qe/memory.db';

describe('pull', () => {
  let tdb: TestDatabase;
  let db: PgDatabase;
  let ws: string;
  let dir: string;
  let remove: () => Promise<void>;
  let local: { id: string; pattern_type: string; qe_domain: string; name: string };
  const cli = (...args: string[]) => runCliInProcess([...args, '--workspace', ws, '--database', tdb.url, '--env', 'laptop']);
  const own = () => sqliteAll<Record<string, unknown>>(ws, V3, `SELECT * FROM qe_patterns WHERE id NOT LIKE 'aqe-pull-%' ORDER BY id`);

  beforeAll(async () => {
    const tmp = await tempFolder('aqe-pull-');
    remove = tmp.remove;
    dir = tmp.dir;
    ws = join(dir, 'ws');
    await buildWorkspace(ws, { volume: 'small', seed: 5 });
    local = sqliteAll<typeof local>(ws, V3, 'SELECT id, pattern_type, qe_domain, name FROM qe_patterns ORDER BY id LIMIT 1')[0]!;
    tdb = await createTestDatabase('ops_pull');
    db = new PgDatabase(tdb.url);
    await ensureMigrated(db);
    const add = (env: string, key: string, type: string, domain: string, name: string, conf: number, sr: number, usage: number, extra: Record<string, unknown> | null = null) =>
      db.query(
        `INSERT INTO aqe.qe_patterns (source_env, source_id, source_table, source_key, content_hash, pattern_type, qe_domain, domain, name, description, confidence, success_rate, usage_count,
           successful_uses, template, context, created_at, updated_at, extra, first_run_id, last_run_id, snapshot_at)
         VALUES ($1, 'v3-memory', 'qe_patterns', $2, 'h', $3, $4, 'test', $5, 'learned on ' || $1, $6, $7, $8, 3, '{"type":"code","content":"x"}', '{"tags":["a"]}',
           '2025-01-02T03:04:05Z', '2025-02-03T04:05:06Z', $9::jsonb, 1, 1, now())`,
        [env, key, type, domain, name, conf, sr, usage, extra === null ? null : JSON.stringify(extra)],
      );
    await add('devpod', 'd1', 'unit-test', 'test-generation', 'Table-driven edge cases', 0.7, 0.5, 10, { tokens_used: 1234 });
    await add('ci', 'c1', 'unit-test', 'test-generation', 'table-driven edge cases', 0.9, 1.0, 30);
    await add('ci', 'c2', 'flaky-fix', 'test-execution', 'Quarantine flaky suites', 0.6, 0.8, 5);
    // the local tool knows this one already (its own row): never overwritten, never duplicated
    await add('devpod', 'd2', local.pattern_type, local.qe_domain, local.name.toUpperCase(), 0.99, 0.99, 99);
    // the workspace's own environment is never pulled from
    await add('laptop', 'l1', 'unit-test', 'test-generation', 'Only on this laptop', 0.5, 0.5, 1);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
    await remove?.();
  });

  it('a dry run shows what would be added and writes nothing', async () => {
    const before = own();
    const r = await cli('pull', '--dry-run', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { added: Array<{ name: string }>; skipped: { knownLocally: number }; backup: string | null };
    expect(out.added.map((a) => a.name).sort()).toEqual(['Quarantine flaky suites', 'table-driven edge cases']);
    expect(out.skipped.knownLocally).toBe(1);
    expect(out.backup).toBeNull();
    expect(sqliteAll(ws, V3, `SELECT id FROM qe_patterns WHERE id LIKE 'aqe-pull-%'`)).toEqual([]);
    expect(own()).toEqual(before);
  });

  it('writes the consensus in the tool\'s own encodings, with provenance and a backup; the tool\'s rows untouched', async () => {
    const before = own();
    const r = await cli('pull', '--from-env', 'all', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { added: Array<{ id: string }>; backup: string };
    expect(out.added).toHaveLength(2);
    expect(existsSync(out.backup)).toBe(true);
    const backup = new Sqlite(out.backup, { readonly: true });
    expect((backup.prepare(`SELECT count(*) AS n FROM qe_patterns WHERE id LIKE 'aqe-pull-%'`).get() as { n: number }).n).toBe(0);
    backup.close();
    const rows = sqliteAll<Record<string, unknown>>(ws, V3, `SELECT * FROM qe_patterns WHERE id LIKE 'aqe-pull-%' ORDER BY name`);
    const merged = rows.find((x) => String(x['name']).toLowerCase() === 'table-driven edge cases')!;
    expect(merged).toMatchObject({ pattern_type: 'unit-test', qe_domain: 'test-generation', confidence: 0.9, usage_count: 40, successful_uses: 6, template_json: '{"type":"code","content":"x"}', context_json: '{"tags":["a"]}' });
    expect(merged['success_rate']).toBeCloseTo(0.875, 12);
    // SQLite text like the tool's datetime('now') default
    expect(merged['created_at']).toBe('2025-01-02 03:04:05');
    expect(merged['updated_at']).toBe('2025-02-03 04:05:06');
    // a column with a default keeps the tool's default
    expect(merged['reuse_count']).toBe(0);
    const prov = sqliteAll<{ local_id: string; from_envs: string; origins: string }>(ws, V3, 'SELECT local_id, from_envs, origins FROM aqe_sync_pulled ORDER BY local_id');
    expect(prov).toHaveLength(2);
    expect(prov.find((p) => p.local_id === merged['id'])).toMatchObject({ from_envs: '["ci","devpod"]', origins: '["ci/v3-memory/c1","devpod/v3-memory/d1"]' });
    expect(own()).toEqual(before);
  });

  it('a second pull adds nothing', async () => {
    const r = await cli('pull', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { added: unknown[]; skipped: { alreadyPulled: number } };
    expect(out.added).toEqual([]);
    expect(out.skipped.alreadyPulled).toBe(2);
    expect(sqliteAll(ws, V3, `SELECT id FROM qe_patterns WHERE id LIKE 'aqe-pull-%'`)).toHaveLength(2);
  });

  it('refuses while the tool holds its write lock too long, writing nothing', async () => {
    await db.query(`INSERT INTO aqe.qe_patterns (source_env, source_id, source_table, source_key, content_hash, pattern_type, qe_domain, name, confidence, first_run_id, last_run_id, snapshot_at)
      VALUES ('ci', 'v3-memory', 'qe_patterns', 'c9', 'h', 'x', 'y', 'New while locked', 0.5, 1, 1, now())`);
    await db.query(`UPDATE aqe.qe_patterns SET domain = 'test' WHERE source_key = 'c9'`);
    // the local schema requires domain (NOT NULL, no default): a pattern without one is skipped, not forced
    await db.query(`INSERT INTO aqe.qe_patterns (source_env, source_id, source_table, source_key, content_hash, pattern_type, qe_domain, name, first_run_id, last_run_id, snapshot_at)
      VALUES ('ci', 'v3-memory', 'qe_patterns', 'c10', 'h', 'x', NULL, 'No domain at all', 1, 1, now())`);
    const backups = () => readdirSync(join(ws, '.aqe-sync', 'backups')).sort();
    const before = backups();
    const holder = new Sqlite(join(ws, V3));
    holder.exec('BEGIN IMMEDIATE');
    try {
      const r = await cli('pull', '--lock-timeout', '0.3');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('held its write lock for more than 300 ms');
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
    // a pull that wrote nothing leaves no backup behind
    expect(backups()).toEqual(before);
    expect(sqliteAll(ws, V3, `SELECT id FROM qe_patterns WHERE name = 'New while locked'`)).toEqual([]);
    const again = await cli('pull', '--json');
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ added: [{ name: 'New while locked' }], skipped: { incomplete: 1, alreadyPulled: 2 } });
  });

  it('keeps only the newest backups (--keep-backups, AQE_PULL_KEEP_BACKUPS)', async () => {
    const dir = join(ws, '.aqe-sync', 'backups');
    for (const stamp of ['2020-01-01T00-00-00-000Z', '2020-01-02T00-00-00-000Z', '2020-01-03T00-00-00-000Z']) writeFileSync(join(dir, `memory.db.${stamp}.before-pull`), 'old');
    await db.query(`INSERT INTO aqe.qe_patterns (source_env, source_id, source_table, source_key, content_hash, pattern_type, qe_domain, domain, name, confidence, first_run_id, last_run_id, snapshot_at)
      VALUES ('ci', 'v3-memory', 'qe_patterns', 'c11', 'h', 'x', 'y', 'test', 'One more to pull', 0.5, 1, 1, now())`);
    const r = await cli('pull', '--json', '--keep-backups', '2');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { backup: string; backupsRemoved: string[] };
    const left = readdirSync(dir).filter((n) => n.endsWith('.before-pull')).sort();
    expect(left).toHaveLength(2);
    expect(left).toContain(out.backup.split('/').pop());
    expect(out.backupsRemoved.map((p) => p.split('/').pop())).toEqual(expect.arrayContaining(['memory.db.2020-01-01T00-00-00-000Z.before-pull', 'memory.db.2020-01-02T00-00-00-000Z.before-pull', 'memory.db.2020-01-03T00-00-00-000Z.before-pull']));
    expect((await cli('pull', '--keep-backups', '0')).code).toBe(2);
  });

  it('refuses a local schema without what pull needs, and unknown tables', async () => {
    const bare = join(dir, 'bare');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(bare, 'v3/.agentic-qe'), { recursive: true });
    const s = new Sqlite(join(bare, V3));
    s.exec('CREATE TABLE qe_patterns (id TEXT PRIMARY KEY, label TEXT NOT NULL)');
    s.close();
    const r = await runCliInProcess(['pull', '--workspace', bare, '--database', tdb.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('qe_patterns lacks the column(s) name');
    expect((await cli('pull', '--tables', 'kv_store')).code).toBe(2);
  });
});
