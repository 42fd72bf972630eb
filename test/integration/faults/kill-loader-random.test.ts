// kill -9 of the loader at seeded random moments of its whole life (startup, manifest, migration
// check, blob download, transaction, COPY, merge, COMMIT, after the commit, embedding stage), in
// both the loader path (loadSnapshot, as `aqe-upload load` runs it) and the Cloud Function path
// (handleStorageEvent with a function runtime), over five snapshots of an evolving workspace
// (each changes, deletes and adds rows) delivered in order: after every kill the database is
// exactly as before that snapshot (every row and row version) or exactly as a clean load of it
// leaves a reference database, and the next delivery converges to the reference.
// (test/integration/loader/kill-loader.test.ts kills only inside the transaction.)
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { ensureMigrated } from '../../../functions/db/migrate.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { pushWorkspace, tempDir } from '../../e2e/support/e2e-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { buildEvolvingWorkspace, type EvolvingWorkspace } from './load-support/evolving-workspace.js';
import { type CampaignReport, runKillCampaign } from './load-support/kill-campaign.js';

const SNAPSHOTS = 5;
const KILLS_PER_SNAPSHOT = 4;
const SEED = 20_251_122;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let testDb: TestDatabase;
let refDb: TestDatabase;
let db: PgDatabase;
let ref: PgDatabase;
let ws: EvolvingWorkspace;
const keys: string[] = [];
const changes: string[] = [];

beforeAll(async () => {
  tmp = await tempDir('aqe-fault-kill-');
  [testDb, refDb] = await Promise.all([createTestDatabase('fault_kill'), createTestDatabase('fault_kill_ref')]);
  db = new PgDatabase(testDb.url);
  ref = new PgDatabase(refDb.url);
  await ensureMigrated(db);
  await ensureMigrated(ref);
  // `small` grown five times: ~2,400 rows over every source kind, one load ≈ 0.5–1.5 s
  ws = await buildEvolvingWorkspace(tmp.dir, { volume: 'small', seed: 7, grow: 5 });
  const store = new LocalDirBlobStore(join(tmp.dir, 'bucket'));
  for (let s = 0; s < SNAPSHOTS; s++) {
    if (s > 0) {
      const step = await ws.evolve(s);
      changes.push(`${step.updated} updated / ${step.deleted} deleted / ${step.inserted} added`);
    }
    keys.push((await pushWorkspace(ws.root, 'laptop', store)).manifestKey!);
  }
});

afterAll(async () => {
  await db?.close();
  await ref?.close();
  await testDb?.drop();
  await refDb?.drop();
  await ws?.close();
  await tmp?.remove();
});

describe('loader processes killed with SIGKILL at random moments', () => {
  let report: CampaignReport;

  it('leave the database exactly as before or after each snapshot, and the next delivery converges', async () => {
    expect(changes.every((c) => !c.startsWith('0 updated'))).toBe(true);
    report = await runKillCampaign({
      test: { db, url: testDb.url },
      reference: { db: ref, url: refDb.url },
      bucketDir: join(tmp.dir, 'bucket'),
      bucketName: 'aqe-fault-bucket',
      manifestKeys: keys,
      killsPerSnapshot: KILLS_PER_SNAPSHOT,
      seed: SEED,
      tmpDir: tmp.dir,
      applicationName: 'aqe-fault-kill-loader',
      // no model: the function path runs its embedding stage without one (rows stay pending)
      modelDir: join(tmp.dir, 'no-model'),
    });
    expect(report.violations).toEqual([]);
    expect(report.kills.length).toBeGreaterThanOrEqual(20);
    expect(report.kills.every((k) => k.state === 'before' || k.state === 'after')).toBe(true);
    expect(report.deliveries.map((d) => d.snapshot)).toEqual([...Array(SNAPSHOTS).keys()]);
    expect(report.finalRows).toBeGreaterThan(2000);
    console.info(
      `${report.kills.length} kills (${report.misses.length} runs finished first) over ${SNAPSHOTS} snapshots (${changes.join('; ')}): ` +
        `by phase ${JSON.stringify(report.byPhase)}, by state ${JSON.stringify(report.byState)}, ${report.unmerged} hit a snapshot not merged yet, ${report.afterCommit} landed after its commit; ` +
        `deliveries ${report.deliveries.map((d) => `${d.status} ${d.ms} ms (clean ${d.cleanMs} ms)`).join(', ')}`,
    );
    // ~60–80 s here; the margin is for a loaded machine
  }, 300_000);

  it('killed both before and inside the load transaction, in both paths', () => {
    const before = new Set(['startup', 'ready', 'model', 'manifest', 'check', 'blobs']);
    const inside = new Set(['tx', 'copy', 'merge', 'commit']);
    expect(report.kills.some((k) => before.has(k.lastPhase))).toBe(true);
    expect(report.kills.some((k) => inside.has(k.lastPhase) && k.state === 'before')).toBe(true);
    expect(new Set(report.kills.map((k) => k.mode))).toEqual(new Set(['loader', 'function']));
  });
});
