// rollback on PGlite + pgvector (vectors in pre-images, the generated search_tsv column): a
// second load is undone exactly (updated rows get their prior values back, inserted events are
// deleted, rows marked missing are present again), a dry run changes nothing, an older run alone
// is refused while a later run changed the same rows, and loading the snapshot again re-applies it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConnection } from '../../../functions/db/database.js';
import { type LoadOutcome, loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { rollbackRuns } from '../../../functions/ops/rollback.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { TARGET_TABLES } from '../../../schema/tables/target-tables.js';
import { pushWorkspace, tempDir } from '../../e2e/support/e2e-fixtures.js';
import { openTestPglite } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { sqliteAll, sqliteRun, tableImage } from './ops-support.js';

type Image = Map<string, Map<string, string>>;

async function image(db: DatabaseConnection, env: string, drop: readonly string[] = []): Promise<Image> {
  const out: Image = new Map();
  for (const t of TARGET_TABLES) out.set(t.name, await tableImage(db, t.name, env, drop));
  return out;
}

const loaded = (o: LoadOutcome) => {
  if (o.status !== 'loaded') throw new Error(`expected a load: ${JSON.stringify(o)}`);
  return o;
};

describe('rollback', () => {
  let db: DatabaseConnection;
  let store: LocalDirBlobStore;
  let ws: string;
  let remove: () => Promise<void>;
  let afterFirst: Image;
  let afterSecond: Image;
  let firstRun: number;
  let secondRun: number;
  let secondKey: string;
  let patternId: string;

  beforeAll(async () => {
    const tmp = await tempDir('aqe-rollback-');
    remove = tmp.remove;
    ws = join(tmp.dir, 'ws');
    await buildWorkspace(ws, { volume: 'small', seed: 11 });
    store = new LocalDirBlobStore(join(tmp.dir, 'bucket'));
    db = await openTestPglite();
    firstRun = loaded(await loadSnapshot({ store, db }, (await pushWorkspace(ws, 'laptop', store)).manifestKey!)).runId;
    // real vectors in the stored rows, so pre-images carry them (as text)
    await db.query(`UPDATE aqe.qe_patterns SET embedding = array_fill(0.25::real, ARRAY[384])::vector, embedding_status = 'done', embedding_model = 'm'`);
    afterFirst = await image(db, 'laptop');

    patternId = sqliteAll<{ id: string }>(ws, 'v3/.agentic-qe/memory.db', 'SELECT id FROM qe_patterns ORDER BY id LIMIT 1')[0]!.id;
    sqliteRun(ws, 'v3/.agentic-qe/memory.db', `UPDATE qe_patterns SET confidence = 0.999, description = 'changed', updated_at = '2099-01-01 00:00:00' WHERE id = ?`, patternId);
    sqliteRun(ws, '.agentic-qe/memory.db', `INSERT INTO events (id, type, payload, timestamp, source) VALUES ('ev-new', 'test:done', '{"ok":true}', 1735689600000, 'test')`);
    const gone = sqliteAll<{ key: string; partition: string }>(ws, '.agentic-qe/memory.db', 'SELECT key, partition FROM memory_entries ORDER BY key LIMIT 1')[0]!;
    sqliteRun(ws, '.agentic-qe/memory.db', 'DELETE FROM memory_entries WHERE key = ? AND partition = ?', gone.key, gone.partition);
    const second = await pushWorkspace(ws, 'laptop', store);
    secondKey = second.manifestKey!;
    const out = loaded(await loadSnapshot({ store, db }, secondKey));
    secondRun = out.runId;
    expect(out.totals.inserted).toBeGreaterThanOrEqual(1);
    expect(out.totals.updated).toBeGreaterThanOrEqual(1);
    expect(out.totals.missing).toBeGreaterThanOrEqual(1);
    afterSecond = await image(db, 'laptop');
  });
  afterAll(async () => {
    await db?.close();
    await remove?.();
  });

  it('a dry run reports exact counts and changes nothing', async () => {
    const r = await rollbackRuns(db, { env: 'laptop', last: 1, dryRun: true });
    expect(r.dryRun).toBe(true);
    expect(r.runs.map((x) => x.id)).toEqual([secondRun]);
    expect(r.tables['events']).toEqual({ restored: 0, deleted: 1, unmarkedMissing: 0 });
    expect(r.tables['qe_patterns']).toMatchObject({ restored: 1, deleted: 0 });
    expect(r.tables['memory_entries']).toMatchObject({ unmarkedMissing: 1 });
    expect(await image(db, 'laptop')).toEqual(afterSecond);
    expect((await db.query(`SELECT status FROM aqe.sync_runs WHERE id = $1`, [secondRun])).rows[0]).toEqual({ status: 'succeeded' });
  });

  it('refuses to roll back an older run alone while a later run changed the same rows', async () => {
    await expect(rollbackRuns(db, { env: 'laptop', runIds: [firstRun] })).rejects.toMatchObject({ code: 'DB_CONFLICT', message: expect.stringContaining(`--run ${secondRun} --run ${firstRun}`) });
    await expect(rollbackRuns(db, { env: 'desktop', runIds: [secondRun] })).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('restores the exact prior values (vectors included), deletes inserted events, and marks the runs rolled back', async () => {
    const r = await rollbackRuns(db, { env: 'laptop', last: 1 });
    expect(r.totals.deleted).toBeGreaterThanOrEqual(1);
    expect(await image(db, 'laptop')).toEqual(afterFirst);
    const vec = await db.query<{ v: string }>(`SELECT embedding::text AS v FROM aqe.qe_patterns WHERE source_key = $1`, [patternId]);
    expect(vec.rows[0]!.v.startsWith('[0.25,0.25')).toBe(true);
    expect((await db.query(`SELECT count(*)::int AS n FROM aqe.events WHERE source_key = 'ev-new'`)).rows[0]).toEqual({ n: 0 });
    expect((await db.query(`SELECT status FROM aqe.sync_runs WHERE id = $1`, [secondRun])).rows[0]).toEqual({ status: 'rolled_back' });
    // the generated full-text column follows the restored text
    const tsv = await db.query<{ ok: boolean }>(`SELECT search_tsv = to_tsvector('simple', coalesce(search_text, '')) AS ok FROM aqe.qe_patterns WHERE source_key = $1`, [patternId]);
    expect(tsv.rows[0]!.ok).toBe(true);
    await expect(rollbackRuns(db, { env: 'laptop', runIds: [secondRun] })).rejects.toMatchObject({ code: 'USAGE', message: expect.stringContaining('rolled_back') });
  });

  it('loading the rolled-back snapshot again re-applies it (a new run; the old one kept as history)', async () => {
    const again = loaded(await loadSnapshot({ store, db }, secondKey));
    expect(again.runId).not.toBe(secondRun);
    const bookkeeping = ['first_run_id', 'last_run_id', 'snapshot_at', 'missing_since', 'embedding', 'embedding_status', 'embedding_model', 'embedding_text_hash'];
    const strip = (img: Image) =>
      [...img].map(([t, rows]) => [t, [...rows].map(([k, v]) => [k, Object.fromEntries(Object.entries(JSON.parse(v) as Record<string, unknown>).filter(([c]) => !bookkeeping.includes(c)))])]);
    const now = strip(await image(db, 'laptop'));
    const expected = strip(afterSecond);
    expect(now.length).toBe(expected.length);
    for (const [i, entry] of now.entries()) if (JSON.stringify(entry) !== JSON.stringify(expected[i])) expect.fail(`aqe.${String(entry[0])} differs after the reload`);
    const runs = await db.query<{ id: number; status: string }>(`SELECT id::int AS id, status FROM aqe.sync_runs ORDER BY id`);
    expect(runs.rows).toEqual([
      { id: firstRun, status: 'succeeded' },
      { id: secondRun, status: 'rolled_back' },
      { id: again.runId, status: 'succeeded' },
    ]);
    // a delivery of the same manifest now is a duplicate again
    expect((await loadSnapshot({ store, db }, secondKey)).status).toBe('duplicate');
  });
});
