// A workspace with a @ruvector/core redb store (written by the real binding), pushed and loaded
// through the real CLI into native PostgreSQL: verify finds it equal 100 times in a row (the index
// search it replaced reported a difference about one read in ten); a store damaged afterwards is
// an incomplete read, which never marks a vector missing and which verify reports as such.
import { readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { ruvectorEntries, writeRuvectorStore } from '../../support/real-formats.js';
import { runCliInProcess, tempFolder } from '../uploader/cli-harness.js';

const STORE = 'v2/data/ruvector-patterns.db';

describe('verify on a workspace with a redb store', () => {
  let tdb: TestDatabase;
  let db: PgDatabase;
  let ws: string;
  let remove: () => Promise<void>;
  const cli = (...args: string[]) => runCliInProcess([...args, '--workspace', ws, '--database', tdb.url, '--env', 'laptop'], { AQE_EMBED_BUDGET_SECONDS: '0' });
  const entries = ruvectorEntries(300);

  beforeAll(async () => {
    tdb = await createTestDatabase('ops_redb_verify');
    db = new PgDatabase(tdb.url);
    const tmp = await tempFolder('aqe-redb-verify-');
    remove = tmp.remove;
    ws = join(tmp.dir, 'ws');
    await writeRuvectorStore(join(ws, STORE), entries);
    const push = await cli('push', '--json');
    expect(push.code, push.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
    await remove?.();
  });

  it('loads every vector of the store', async () => {
    const n = await db.query<{ n: string }>(`SELECT count(*) AS n FROM aqe.source_vectors WHERE source_env = 'laptop' AND source_id = 'ruvector-patterns' AND missing_since IS NULL`);
    expect(Number(n.rows[0]?.n)).toBe(entries.length);
  });

  it('verify is equal 100 times in a row', async () => {
    for (let i = 0; i < 100; i++) {
      const r = await cli('verify', '--json', '--source', 'ruvector-patterns');
      expect(r.code, `verify #${i + 1}: ${r.stdout}${r.stderr}`).toBe(0);
      const v = JSON.parse(r.stdout) as { equal: boolean; pairs: Array<{ table: string; local: number; cloud: number; equal: boolean }> };
      expect(v.equal).toBe(true);
      expect(v.pairs.find((p) => p.table === 'source_vectors')).toMatchObject({ local: entries.length, cloud: entries.length, equal: true });
    }
  }, 300_000);

  it('a damaged store is an incomplete read: no vector is marked missing, verify says "incomplete read" (exit 3)', async () => {
    const file = join(ws, STORE);
    truncateSync(file, Math.floor(readFileSync(file).length / 2));
    const push = await cli('push', '--json');
    expect(push.code, push.stderr).toBe(0);
    const missing = await db.query<{ n: string }>(`SELECT count(*) AS n FROM aqe.source_vectors WHERE source_env = 'laptop' AND source_id = 'ruvector-patterns' AND missing_since IS NOT NULL`);
    expect(Number(missing.rows[0]?.n)).toBe(0);
    const r = await cli('verify', '--source', 'ruvector-patterns');
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(r.stdout).toContain('INCOMPLETE READ');
    expect(r.stdout).not.toContain('DIFFERENT');
    expect(r.stdout).toMatch(/incomplete read of source_vectors/);
  });
});
