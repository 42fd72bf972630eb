// Clock skew cannot freeze an environment. A laptop whose clock runs ahead pushes a manifest dated
// decades ahead: the loader orders snapshots by the store's clock (when the bucket created the
// manifest), refuses a claim beyond it plus the tolerance (quarantined as terminal, never retried),
// and the correct pushes that follow update values, mark deleted rows missing and insert new rows
// present. A machine whose WHOLE clock (uploader, bucket filesystem, loader) jumps forward and
// back, or state left by a loader that trusted such a claim, recovers the same way; and a rollback
// restores the per-source state, so reloading after it never finds itself "late".
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConnection } from '../../../functions/db/database.js';
import { type LoadOutcome, loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { rollbackRuns } from '../../../functions/ops/rollback.js';
import { readDatabaseStatus } from '../../../functions/ops/status.js';
import type { BlobStore, ObjectInfo, PutOptions } from '../../../functions/storage/blob-store.js';
import { openBlobStore } from '../../../functions/storage/open-blob-store.js';
import { planReconcile } from '../../../functions/reconcile/plan-reconcile.js';
import { pushWorkspace, tempDir } from '../../e2e/support/e2e-fixtures.js';
import { type GcsServer, startGcsServer } from '../../support/gcs-server.js';
import { openTestPglite } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { sqliteAll, sqliteRun } from '../ops/ops-support.js';

const YEAR = 365.25 * 86_400_000;
const V3 = 'v3/.agentic-qe/memory.db';
const ROOT = '.agentic-qe/memory.db';

let gcs: GcsServer;
let buckets = 0;
beforeAll(async () => {
  gcs = await startGcsServer();
});
afterAll(async () => {
  await gcs?.close();
});
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const loaded = (o: LoadOutcome) => {
  if (o.status !== 'loaded') throw new Error(`expected a load: ${JSON.stringify(o)}`);
  return o;
};

/** A built workspace, a PGlite database, and the edits a tool makes between pushes. */
async function setup(store: (dir: string) => Promise<BlobStore>) {
  const tmp = await tempDir('aqe-clock-');
  const ws = join(tmp.dir, 'ws');
  await buildWorkspace(ws, { volume: 'small', seed: 7 });
  const db = await openTestPglite();
  cleanups.push(async () => {
    await db.close();
    await tmp.remove();
  });
  const patternId = sqliteAll<{ id: string }>(ws, V3, 'SELECT id FROM qe_patterns ORDER BY id LIMIT 1')[0]!.id;
  return {
    ws,
    db,
    store: await store(tmp.dir),
    patternId,
    /** The tool changes the pattern's description, stamping updated_at with its own clock. */
    describe(text: string, at: Date) {
      sqliteRun(ws, V3, 'UPDATE qe_patterns SET description = ?, updated_at = ? WHERE id = ?', text, at.toISOString().replace('T', ' ').slice(0, 19), patternId);
    },
    /** Deletes one memory entry; returns its key. */
    deleteEntry(): string {
      const gone = sqliteAll<{ key: string; partition: string }>(ws, ROOT, 'SELECT key, partition FROM memory_entries ORDER BY key LIMIT 1')[0]!;
      sqliteRun(ws, ROOT, 'DELETE FROM memory_entries WHERE key = ? AND partition = ?', gone.key, gone.partition);
      return gone.key;
    },
    addEvent(id: string, at: Date) {
      sqliteRun(ws, ROOT, `INSERT INTO events (id, type, payload, timestamp, source) VALUES (?, 'test:done', '{"ok":true}', ?, 'test')`, id, at.getTime());
    },
  };
}

async function description(db: DatabaseConnection, patternId: string): Promise<string | null> {
  const r = await db.query<{ d: string | null }>(`SELECT description AS d FROM aqe.qe_patterns WHERE source_env = 'laptop' AND source_key LIKE '%' || $1 || '%'`, [patternId]);
  return r.rows[0]?.d ?? null;
}
async function missingKeys(db: DatabaseConnection): Promise<string[]> {
  const out: string[] = [];
  for (const t of ['memory_entries', 'events', 'qe_patterns', 'claude_flow_memory', 'source_rows']) {
    const r = await db.query<{ k: string }>(`SELECT source_table || '/' || source_key AS k FROM aqe.${t} WHERE source_env = 'laptop' AND missing_since IS NOT NULL`);
    out.push(...r.rows.map((x) => `${t}:${x.k}`));
  }
  return out.sort();
}
async function eventMissing(db: DatabaseConnection, id: string): Promise<boolean | null> {
  const r = await db.query<{ m: boolean }>(`SELECT missing_since IS NOT NULL AS m FROM aqe.events WHERE source_env = 'laptop' AND source_key LIKE '%' || $1 || '%'`, [id]);
  return r.rows[0]?.m ?? null;
}

/** The checks after a correct push that follows a skewed one: nothing frozen. */
async function expectNotFrozen(db: DatabaseConnection, s: Awaited<ReturnType<typeof setup>>, o: LoadOutcome & { status: 'loaded' }, want: { text: string; deletedKey: string; eventId: string }) {
  expect(await description(db, s.patternId)).toBe(want.text);
  expect(o.totals.updated).toBeGreaterThanOrEqual(1);
  expect(o.totals.keptNewer).toBe(0);
  const missing = await missingKeys(db);
  expect(missing).toHaveLength(1);
  expect(missing[0]).toContain(want.deletedKey);
  expect(await eventMissing(db, want.eventId)).toBe(false);
}

const BACKENDS: Array<{ name: string; open: (dir: string) => Promise<BlobStore> }> = [
  { name: 'local directory', open: (dir) => openBlobStore(`file://${join(dir, 'bucket')}`) },
  {
    name: 'GCS JSON API (real client)',
    open: async () => {
      const name = `aqe-clock-${++buckets}`;
      gcs.createBucket(name);
      return openBlobStore(`gs://${name}/aqe`, { gcs: { apiEndpoint: gcs.endpoint, projectId: 'test' }, gcsRetry: { maxRetries: 0 } });
    },
  },
];

describe.each(BACKENDS)('a manifest dated in the future, on a $name bucket', ({ open }) => {
  it('is quarantined as terminal with the fix, and the correct pushes after it load normally', async () => {
    const s = await setup(open);
    loaded(await loadSnapshot({ store: s.store, db: s.db }, (await pushWorkspace(s.ws, 'laptop', s.store)).manifestKey!));

    // the laptop's clock runs 73 years ahead for one push
    const ahead = () => new Date(Date.now() + 73 * YEAR);
    s.describe('written while the clock ran ahead', ahead());
    const skewed = await pushWorkspace(s.ws, 'laptop', s.store, { now: ahead });
    const out = await loadSnapshot({ store: s.store, db: s.db }, skewed.manifestKey!);
    expect(out.status).toBe('quarantined');
    if (out.status !== 'quarantined') return;
    expect(out.code).toBe('MANIFEST_CLOCK_SKEW');
    expect(out.reason).toMatch(/^manifest\.createdAt \S+ and the time in snapshot id \S+ \(\S+\) are \d+ years after the bucket stored the manifest \(\S+\), more than the 5 minutes a clock may be off: the clock of the machine that pushed it runs ahead\..*Fix that clock \(turn on time sync/s);
    const report = JSON.parse((await s.store.get(out.reportKey)).toString()) as { code: string; transient: boolean };
    expect(report).toMatchObject({ code: 'MANIFEST_CLOCK_SKEW', transient: false });
    expect(await description(s.db, s.patternId)).not.toBe('written while the clock ran ahead');
    // terminal: a redelivery is acknowledged, and reconcile never plans it again
    expect((await loadSnapshot({ store: s.store, db: s.db }, skewed.manifestKey!)).status).toBe('duplicate');
    const q = await s.db.query<{ id: number; manifest_key: string; code: string; reason: string; transient: boolean; retry_count: number }>('SELECT id, manifest_key, code, reason, transient, retry_count FROM aqe.quarantine');
    expect(q.rows).toHaveLength(1);
    const plan = planReconcile({
      now: new Date(),
      manifests: [{ key: skewed.manifestKey!, env: 'laptop', snapshotId: skewed.snapshotId, updated: new Date() }],
      quarantineObjects: [],
      runs: [{ manifestKey: skewed.manifestKey!, env: 'laptop', snapshotId: skewed.snapshotId, status: 'quarantined', startedAt: new Date(), finishedAt: new Date(), durationMs: 0 }],
      openQuarantine: q.rows.map((r) => ({ id: Number(r.id), env: 'laptop', manifestKey: r.manifest_key, code: r.code, reason: r.reason, transient: r.transient, retryCount: Number(r.retry_count) })),
      policy: { retentionDays: 90, safetyWindowMs: 86_400_000 },
    });
    expect(plan.loads).toEqual([]);
    expect(plan.retries).toEqual([]);
    expect(plan.leftQuarantined).toMatchObject([{ manifestKey: skewed.manifestKey, code: 'MANIFEST_CLOCK_SKEW', why: 'terminal' }]);

    // the clock is fixed: the next push updates, marks deleted rows missing, inserts present rows
    s.describe('after the clock was fixed', new Date());
    const deletedKey = s.deleteEntry();
    s.addEvent('ev-after-fix', new Date());
    const next = loaded(await loadSnapshot({ store: s.store, db: s.db }, (await pushWorkspace(s.ws, 'laptop', s.store)).manifestKey!));
    await expectNotFrozen(s.db, s, next, { text: 'after the clock was fixed', deletedKey, eventId: 'ev-after-fix' });
  });

  it('accepts a clock a little ahead, within the tolerance', async () => {
    const s = await setup(open);
    const out = await loadSnapshot({ store: s.store, db: s.db }, (await pushWorkspace(s.ws, 'laptop', s.store, { now: () => new Date(Date.now() + 60_000) })).manifestKey!);
    expect(out.status).toBe('loaded');
  });
});

/**
 * A bucket whose filesystem clock jumps with the machine's: objects created while `shiftMs` is set
 * report a creation time that much ahead (as their birth time would be), and keep it.
 */
function shiftedClockStore(inner: BlobStore): BlobStore & { shiftMs: number } {
  const born = new Map<string, number>();
  const shifted = Object.create(inner) as BlobStore & { shiftMs: number };
  shifted.shiftMs = 0;
  const shift = (info: ObjectInfo | null): ObjectInfo | null => (info && born.has(info.key) && info.created ? { ...info, created: new Date(info.created.getTime() + born.get(info.key)!) } : info);
  Object.assign(shifted, {
    put: async (key: string, body: Parameters<BlobStore['put']>[1], options?: PutOptions) => {
      const r = await inner.put(key, body, options);
      if (r.created && shifted.shiftMs !== 0) born.set(key, shifted.shiftMs);
      return r;
    },
    stat: async (key: string) => shift(await inner.stat(key)),
    get: (key: string) => inner.get(key),
    getStream: (key: string) => inner.getStream(key),
    exists: (key: string) => inner.exists(key),
    delete: (key: string, o?: Parameters<BlobStore['delete']>[1]) => inner.delete(key, o),
    touch: (key: string) => inner.touch(key),
    check: (k?: string) => inner.check(k),
    list: (prefix: string) => inner.list(prefix),
  });
  return shifted;
}

describe('a machine whose whole clock jumps forward and back (local bucket and loader on it)', () => {
  it('loads the push made while ahead, then recovers: later correct pushes update, mark missing and insert present rows; rollback and reload stay correct', async () => {
    let offset = 0;
    const clock = () => new Date(Date.now() + offset);
    const s = await setup(async (dir) => shiftedClockStore(await openBlobStore(`file://${join(dir, 'bucket')}`)));
    const store = s.store as BlobStore & { shiftMs: number };
    const load = async (key: string) => loaded(await loadSnapshot({ store, db: s.db, now: clock }, key));
    const first = await load((await pushWorkspace(s.ws, 'laptop', store, { now: clock })).manifestKey!);

    // the whole machine runs a year ahead: nothing can tell, the push loads
    offset = YEAR;
    store.shiftMs = YEAR;
    s.describe('while the machine ran ahead', clock());
    const ahead = await load((await pushWorkspace(s.ws, 'laptop', store, { now: clock })).manifestKey!);
    expect(await description(s.db, s.patternId)).toBe('while the machine ran ahead');

    // back to the right time: the rows and state it left are dated a year ahead, yet nothing is frozen
    offset = 0;
    store.shiftMs = 0;
    s.describe('after the clock came back', clock());
    const deletedKey = s.deleteEntry();
    s.addEvent('ev-after-back', clock());
    const back = await load((await pushWorkspace(s.ws, 'laptop', store, { now: clock })).manifestKey!);
    await expectNotFrozen(s.db, s, back, { text: 'after the clock came back', deletedKey, eventId: 'ev-after-back' });
    // status: the last snapshot is the one just loaded, and only the deleted row is gone
    const status = (await readDatabaseStatus(s.db, { env: 'laptop' })).environments[0]!;
    expect(status.lastSnapshot?.id).toBe(back.snapshotId);
    expect(status.missingRows).toBe(1);

    // a second correct push after it changes a value again: still not kept out by the year-ahead dates
    s.describe('and once more', clock());
    await load((await pushWorkspace(s.ws, 'laptop', store, { now: clock })).manifestKey!);
    expect(await description(s.db, s.patternId)).toBe('and once more');
    expect(first.runId).toBeLessThan(ahead.runId);
  });
});

describe('rollback', () => {
  it('restores the per-source state: after rolling back the last runs, reloading a snapshot is not late (no row born missing)', async () => {
    const s = await setup((dir) => openBlobStore(`file://${join(dir, 'bucket')}`));
    const a = await pushWorkspace(s.ws, 'laptop', s.store);
    s.describe('second', new Date());
    s.addEvent('ev-second', new Date());
    const b = await pushWorkspace(s.ws, 'laptop', s.store);
    loaded(await loadSnapshot({ store: s.store, db: s.db }, a.manifestKey!));
    loaded(await loadSnapshot({ store: s.store, db: s.db }, b.manifestKey!));
    await rollbackRuns(s.db, { env: 'laptop', last: 2 });
    const state = await s.db.query<{ sources: Record<string, unknown>; last_snapshot_id: string | null }>(`SELECT sources, last_snapshot_id FROM aqe.sync_state WHERE env = 'laptop'`);
    expect(state.rows[0]).toEqual({ sources: {}, last_snapshot_id: null });

    // reloading the older snapshot first: every row present, none born missing
    const again = loaded(await loadSnapshot({ store: s.store, db: s.db }, a.manifestKey!));
    expect(again.totals.inserted).toBeGreaterThan(0);
    expect(await missingKeys(s.db)).toEqual([]);
    const reloadB = loaded(await loadSnapshot({ store: s.store, db: s.db }, b.manifestKey!));
    expect(reloadB.totals.updated).toBeGreaterThanOrEqual(1);
    expect(await eventMissing(s.db, 'ev-second')).toBe(false);
    expect(await missingKeys(s.db)).toEqual([]);
  });
});
