// status and verify through the real CLI (in process) against native PostgreSQL: a workspace
// pushed and loaded verifies equal; a local edit and a cloud edit are each reported exactly
// (and nothing else); status reports numbers, runs, quarantine and local changes.
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { runCliInProcess, tempFolder } from '../uploader/cli-harness.js';
import { sqliteAll, sqliteRun } from './ops-support.js';

describe('status and verify', () => {
  let tdb: TestDatabase;
  let db: PgDatabase;
  let ws: string;
  let remove: () => Promise<void>;
  const cli = (...args: string[]) => runCliInProcess([...args, '--workspace', ws, '--database', tdb.url], { AQE_EMBED_BUDGET_SECONDS: '0' });
  const json = <T>(out: string): T => JSON.parse(out) as T;
  type Verify = { equal: boolean; pairs: Array<{ sourceId: string; table: string; local: number; cloud: number; missing: number; extra: number; different: number; equal: boolean; keys?: Record<string, string[]> }>; problems: unknown[] };

  beforeAll(async () => {
    tdb = await createTestDatabase('ops_status');
    db = new PgDatabase(tdb.url);
    const tmp = await tempFolder('aqe-ops-');
    remove = tmp.remove;
    ws = join(tmp.dir, 'ws');
    await buildWorkspace(ws, { volume: 'small', seed: 7 });
    const push = await cli('push', '--env', 'laptop', '--json');
    expect(push.code, push.stderr).toBe(0);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
    await remove?.();
  });

  it('verify: a freshly loaded workspace equals the cloud, every (source, table) pair (exit 0)', async () => {
    const r = await cli('verify', '--env', 'laptop', '--json');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const v = json<Verify>(r.stdout);
    expect(v.equal).toBe(true);
    expect(v.pairs.length).toBeGreaterThan(10);
    for (const p of v.pairs) {
      expect(typeof p.local).toBe('number');
      expect(typeof p.cloud).toBe('number');
      expect(p, `${p.sourceId}/${p.table}`).toMatchObject({ missing: 0, extra: 0, different: 0, equal: true });
      expect(p.local).toBe(p.cloud);
    }
    const text = await cli('verify', '--env', 'laptop');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('the cloud matches the workspace');
  });

  it('verify: a local edit is reported as exactly one different and one missing row (exit 1), keys with --details', async () => {
    const [p] = sqliteAll<{ id: string }>(ws, 'v3/.agentic-qe/memory.db', 'SELECT id FROM qe_patterns ORDER BY id LIMIT 1');
    sqliteRun(ws, 'v3/.agentic-qe/memory.db', `UPDATE qe_patterns SET confidence = 0.99, description = 'edited locally' WHERE id = ?`, p!.id);
    sqliteRun(ws, 'v3/.agentic-qe/memory.db', `INSERT INTO qe_patterns (id, pattern_type, qe_domain, domain, name) VALUES ('local-new', 'unit', 'test-generation', 'test', 'new one')`);
    const r = await cli('verify', '--env', 'laptop', '--json', '--details');
    expect(r.code).toBe(1);
    const v = json<Verify>(r.stdout);
    expect(v.equal).toBe(false);
    const differing = v.pairs.filter((x) => !x.equal);
    expect(differing.map((x) => `${x.sourceId}/${x.table}`)).toEqual(['v3-memory/qe_patterns']);
    expect(differing[0]).toMatchObject({ missing: 1, extra: 0, different: 1 });
    expect(differing[0]!.keys).toEqual({ missing: ['qe_patterns/local-new'], extra: [], different: [`qe_patterns/${p!.id}`] });
    const text = await cli('verify', '--env', 'laptop', '--details');
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`different v3-memory qe_patterns qe_patterns/${p!.id}`);
  });

  it('status: numbers per environment, the runs of the day, and the local sources changed since the push', async () => {
    const r = await cli('status', '--env', 'laptop', '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = json<{
      environments: Array<{ env: string; rows: number; tables: Record<string, number>; pendingEmbeddings: number; runsLastDay: { total: number; byStatus: Record<string, number> }; lastSuccess: { ageSeconds: number } | null; quarantined: unknown[] }>;
      local: { lastPush: unknown; sources: Array<{ path: string; state: string }>; changed: number };
    }>(r.stdout);
    expect(s.environments.map((e) => e.env)).toEqual(['laptop']);
    const e = s.environments[0]!;
    expect(e.runsLastDay.total).toBe(1);
    expect(e.runsLastDay.byStatus).toEqual({ succeeded: 1 });
    expect(typeof e.rows).toBe('number');
    expect(e.rows).toBe(Object.values(e.tables).reduce((a, b) => a + b, 0));
    expect(e.tables['qe_patterns']).toBe(sqliteAll(ws, 'v3/.agentic-qe/memory.db', 'SELECT id FROM qe_patterns').length - 1);
    expect(typeof e.pendingEmbeddings).toBe('number');
    expect(e.pendingEmbeddings).toBeGreaterThan(0);
    expect(e.lastSuccess!.ageSeconds).toBeLessThan(600);
    expect(e.quarantined).toEqual([]);
    expect(s.local.lastPush).not.toBeNull();
    expect(s.local.sources.find((x) => x.path === 'v3/.agentic-qe/memory.db')?.state).toBe('changed');
    expect(s.local.sources.filter((x) => x.state === 'changed').map((x) => x.path)).toEqual(['v3/.agentic-qe/memory.db']);
    const text = await cli('status', '--env', 'laptop');
    expect(text.code).toBe(0);
    expect(text.stdout, text.stdout).toContain('environment laptop');
    expect(text.stdout).toContain('runs in the last day: 1 (1 succeeded)');
    expect(text.stdout).toMatch(/changed\s+v3\/\.agentic-qe\/memory\.db/);
  });

  it('verify: after a new push it is equal again; a cloud edit is reported from the other direction (extra and different)', async () => {
    expect((await cli('push', '--env', 'laptop')).code).toBe(0);
    expect((await cli('verify', '--env', 'laptop')).code).toBe(0);
    const victim = (await db.query<{ source_key: string }>(`SELECT source_key FROM aqe.memory_entries WHERE source_env = 'laptop' ORDER BY source_key LIMIT 1`)).rows[0]!.source_key;
    await db.query(`UPDATE aqe.memory_entries SET content_hash = 'tampered' WHERE source_env = 'laptop' AND source_key = $1`, [victim]);
    await db.query(
      `INSERT INTO aqe.events (source_env, source_id, source_table, source_key, content_hash, first_run_id, last_run_id, snapshot_at)
       VALUES ('laptop', 'root-memory', 'events', 'only-in-the-cloud', 'h', 1, 1, now())`,
    );
    const r = await cli('verify', '--env', 'laptop', '--json', '--details');
    expect(r.code).toBe(1);
    const v = json<Verify>(r.stdout);
    const differing = v.pairs.filter((x) => !x.equal);
    expect(differing.map((x) => x.table).sort()).toEqual(['events', 'memory_entries']);
    const events = differing.find((x) => x.table === 'events')!;
    expect(events).toMatchObject({ missing: 0, extra: 1, different: 0 });
    expect(events.keys!['extra']).toEqual(['events/only-in-the-cloud']);
    const memory = differing.find((x) => x.table === 'memory_entries')!;
    expect(memory).toMatchObject({ missing: 0, extra: 0, different: 1 });
  });

  it('rollback through the CLI: a dry run reports counts in JSON; usage mistakes exit 2 with a Try line', async () => {
    const r = await cli('rollback', '--env', 'laptop', '--last', '1', '--dry-run', '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { dryRun: boolean; runs: Array<{ id: number }>; totals: { restored: number; deleted: number } };
    expect(out.dryRun).toBe(true);
    expect(out.runs).toHaveLength(1);
    expect(out.totals.restored + out.totals.deleted).toBeGreaterThan(0);
    const text = await cli('rollback', '--env', 'laptop', '--last', '1', '--dry-run');
    expect(text.stdout).toContain('would roll back run');
    for (const args of [['rollback', '--last', '1'], ['rollback', '--env', 'laptop'], ['rollback', '--env', 'laptop', '--last', '1', '--run', '1'], ['rollback', '--env', 'laptop', '--run', 'x']]) {
      const bad = await cli(...args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr).toContain('Try: aqe-upload rollback');
    }
    expect((await cli('rollback', '--env', 'nowhere', '--last', '1')).code).toBe(2);
  });

  it('status and verify refuse bad usage with exit 2 and a Try line', async () => {
    await rm(join(ws, 'nowhere'), { force: true });
    const r = await runCliInProcess(['verify', '--workspace', join(ws, 'nowhere'), '--database', tdb.url]);
    expect(r.code).toBe(2);
  });
});
