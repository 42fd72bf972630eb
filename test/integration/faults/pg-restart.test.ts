// PostgreSQL restarted (fast shutdown, down for a while, started again on the same data
// directory) in the middle of a load, through the deployed path: the loadSnapshot function under
// the real Functions Framework. The interrupted load is rolled back, the function answers 5xx
// (the connection loss is a transient DB_CONNECTION error, rethrown so Eventarc redelivers:
// infra sets RETRY_POLICY_RETRY), redeliveries while the server is down answer 5xx too, and the
// first one after it is back loads exactly the rows of a clean load of the same snapshot. A restart
// while the function is idle does not break its next delivery (its pool drops dead connections).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { ensureMigrated } from '../../../functions/db/migrate.js';
import { loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { TARGET_TABLES } from '../../../schema/tables/target-tables.js';
import { pushWorkspace, tempDir } from '../../e2e/support/e2e-fixtures.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { type Fingerprint, logicalFingerprint, targetRows } from './load-support/db-fingerprint.js';
import { buildEvolvingWorkspace, type EvolvingWorkspace } from './load-support/evolving-workspace.js';
import { type FunctionServer, startFunctionServer, waitForLoadStatement } from './load-support/function-server.js';
import { type RestartablePostgres, startRestartablePostgres } from './load-support/restartable-postgres.js';

const APP = 'aqe-fault-restart-fn';
const BUCKET = 'aqe-fault-restart';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let cluster: RestartablePostgres;
let testDb: TestDatabase;
let refDb: TestDatabase;
let db: PgDatabase;
let ref: PgDatabase;
let ws: EvolvingWorkspace;
let store: LocalDirBlobStore;
let fn: FunctionServer;

beforeAll(async () => {
  tmp = await tempDir('aqe-fault-restart-');
  cluster = await startRestartablePostgres();
  testDb = await createTestDatabase('fault_restart', cluster.adminUrl);
  refDb = await createTestDatabase('fault_restart_ref', cluster.adminUrl);
  db = new PgDatabase(testDb.url);
  ref = new PgDatabase(refDb.url);
  await ensureMigrated(db);
  await ensureMigrated(ref);
  // plan volume: ~14K rows, a load of a few seconds
  ws = await buildEvolvingWorkspace(tmp.dir, { volume: 'plan', seed: 5 });
  store = new LocalDirBlobStore(join(tmp.dir, 'bucket'));
  fn = await startFunctionServer({ dbUrl: testDb.url, bucketDir: join(tmp.dir, 'bucket'), bucketName: BUCKET, applicationName: APP, modelDir: join(tmp.dir, 'no-model') });
});

afterAll(async () => {
  await fn?.close();
  await db?.close();
  await ref?.close();
  await cluster?.stop();
  await ws?.close();
  await tmp?.remove();
});

const targetsOnly = (fp: Fingerprint) => Object.fromEntries(TARGET_TABLES.map((t) => [t.name, fp[t.name]]));

async function runs(): Promise<{ status: string; snapshot_id: string }[]> {
  return (await db.query<{ status: string; snapshot_id: string }>('SELECT status, snapshot_id FROM aqe.sync_runs ORDER BY id')).rows;
}

describe('PostgreSQL restarted in the middle of a load', () => {
  it('fails the delivery with a transient error, and Eventarc-style redelivery completes it exactly', async () => {
    const firstKey = (await pushWorkspace(ws.root, 'laptop', store)).manifestKey!;
    const clean = await loadSnapshot({ store, db: ref }, firstKey);
    expect(clean.status).toBe('loaded');
    const reference = await logicalFingerprint(ref);
    expect(targetRows(reference)).toBeGreaterThan(10_000);

    const eventId = 'evt-restart-1';
    const first = fn.deliver(firstKey, eventId);
    const statement = await waitForLoadStatement(db, APP);
    // restart in the background: the server stays down for 1.5 s, redeliveries start at once
    const restarted = cluster.restart({ downMs: 1500 });
    const failed = await first;
    expect(failed.status, failed.body).toBeGreaterThanOrEqual(500);
    const redeliveries = await fn.deliverUntilAcknowledged(firstKey, eventId, { backoffMs: [250, 500, 1000, 2000], maxAttempts: 10 });
    const times = await restarted;
    const last = redeliveries.at(-1)!;
    expect(last.status, `${redeliveries.map((d) => d.status).join(', ')}: ${last.body}\n${cluster.logTail()}`).toBeLessThan(300);
    // at least one redelivery came while the server was down (connection refused) and answered 5xx
    expect(redeliveries.length).toBeGreaterThanOrEqual(2);

    // the interrupted attempt was a transient connection loss, logged and rethrown (not quarantined)
    const failures = fn.logs.filter((l) => l.event === 'sync_failed');
    expect(failures.length).toBeGreaterThanOrEqual(1);
    expect(failures[0]?.error?.code).toBe('DB_CONNECTION');
    expect(failures[0]?.error?.message).toMatch(/transient/);
    expect(fn.logs.some((l) => l.event === 'sync_quarantined')).toBe(false);

    // exactly the rows of a clean load, one succeeded run, nothing quarantined
    expect(targetsOnly(await logicalFingerprint(db))).toEqual(targetsOnly(reference));
    expect(await runs()).toEqual([{ status: 'succeeded', snapshot_id: clean.status === 'loaded' ? clean.snapshotId : '' }]);
    expect(Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM aqe.quarantine')).rows[0]?.n)).toBe(0);
    console.info(
      `restart while running ${statement.slice(0, 60).replace(/\s+/g, ' ')}…: stop ${Math.round(times.stopMs)} ms, down ${Math.round(times.downMs)} ms, start ${Math.round(times.startMs)} ms; ` +
        `first delivery ${failed.status} after ${Math.round(failed.ms)} ms; redeliveries ${redeliveries.map((d) => `${d.status} (${Math.round(d.ms)} ms)`).join(', ')}`,
    );
  });

  it('delivers the next snapshot at the first attempt after a restart while the function was idle', async () => {
    await ws.evolve(1);
    const key = (await pushWorkspace(ws.root, 'laptop', store)).manifestKey!;
    expect((await loadSnapshot({ store, db: ref }, key)).status).toBe('loaded');
    await cluster.restart({ downMs: 200 });
    const res = await fn.deliver(key, 'evt-restart-2');
    expect(res.status, res.body).toBeLessThan(300);
    expect(targetsOnly(await logicalFingerprint(db))).toEqual(targetsOnly(await logicalFingerprint(ref)));
    expect((await runs()).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  });
});
