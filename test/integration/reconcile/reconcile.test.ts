// reconcile end to end: native PostgreSQL, the GCS JSON-API server with the real client (through
// the real Functions Framework) and the local directory store, real pushes of a built workspace.

import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConnection } from '../../../functions/db/database.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { setFunctionRuntime } from '../../../functions/index.js';
import { loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { RunLedger } from '../../../functions/loader/write/run-ledger.js';
import { createLogger } from '../../../functions/observability/logger.js';
import { applyReconcile, type ReconcileReport } from '../../../functions/reconcile/apply-reconcile.js';
import { blobKeysIn } from '../../../functions/reconcile/plan-reconcile.js';
import { createFunctionContext, type FunctionRuntime } from '../../../functions/runtime/function-context.js';
import type { BlobStore } from '../../../functions/storage/blob-store.js';
import { GcsBlobStore } from '../../../functions/storage/gcs-blob-store.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { manifestSha256 } from '../../../schema/snapshot/manifest.js';
import { blobKey, manifestKey as keyOf, parseManifestKey, quarantineReportKey } from '../../../schema/snapshot/object-keys.js';
import { TARGET_TABLES } from '../../../schema/tables/target-tables.js';
import { startGcsServer, type GcsServer } from '../../support/gcs-server.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { runCliInProcess } from '../uploader/cli-harness.js';
import { copyManifest, mutateStore, pushWorkspace, snapshotIdAt } from './support.js';

const DAY = 24 * 3600_000;
let dir: string;
let gcs: GcsServer;
const cleanups: Array<() => Promise<void>> = [];
const logLines: string[] = [];
const log = createLogger({ minSeverity: 'DEBUG', write: (l) => logLines.push(l) });

async function database(name: string): Promise<{ tdb: TestDatabase; db: PgDatabase }> {
  const tdb = await createTestDatabase(name);
  const db = new PgDatabase(tdb.url);
  cleanups.push(async () => {
    await db.close();
    await tdb.drop();
  });
  return { tdb, db };
}
const deps = (store: BlobStore, db: DatabaseConnection) => ({
  store,
  withDb: <T>(fn: (d: DatabaseConnection) => Promise<T>) => fn(db),
  embedder: async () => ({ embedder: null, reason: 'no model in this test' }),
  log,
  policy: { retentionDays: 90, safetyWindowMs: DAY, budgetMs: 120_000 },
});
async function workspace(name: string): Promise<string> {
  const ws = await buildWorkspace(join(dir, name));
  return ws.root;
}
const ageFile = (path: string, days: number) => {
  const t = new Date(Date.now() - days * DAY);
  return utimes(path, t, t);
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aqe-reconcile-'));
  gcs = await startGcsServer();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await gcs?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('reconcile through the Functions Framework (GCS JSON-API server)', () => {
  let server: Server;
  let rt: FunctionRuntime;
  let db: PgDatabase;
  const post = async (body: unknown, method = 'POST') => {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method,
      headers: { 'content-type': 'application/json', authorization: 'Bearer oidc-token-checked-by-the-platform' },
      ...(method === 'POST' ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json()) as ReconcileReport & { issues?: string[] } };
  };

  beforeAll(async () => {
    gcs.createBucket('aqe-reconcile');
    const { tdb, db: d } = await database('reconcile_ff');
    db = d;
    rt = createFunctionContext({ env: { AQE_DATABASE_URL: tdb.url, AQE_BUCKET: 'aqe-reconcile', AQE_GCS_API_ENDPOINT: gcs.endpoint }, log });
    cleanups.push(() => rt.close());
    setFunctionRuntime(rt);
    server = getTestServer('reconcile');
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise((r) => server.close(() => r())));
  });

  it('loads a manifest whose event was lost; a dry run only lists it', async () => {
    const store = new GcsBlobStore({ bucket: 'aqe-reconcile', storageOptions: { apiEndpoint: gcs.endpoint, projectId: 'test' } });
    const pushed = await pushWorkspace(await workspace('ws-ff'), 'gs://aqe-reconcile', 'laptop', store);
    const dry = await post({ dryRun: true });
    expect(dry.status).toBe(200);
    expect(dry.json.loads).toMatchObject([{ manifestKey: pushed.manifestKey, status: 'planned', reason: 'no_run' }]);
    expect((await db.query('SELECT 1 FROM aqe.sync_runs')).rowCount).toBe(0);

    const run = await post({});
    expect(run.status).toBe(200);
    expect(run.json.loads).toMatchObject([{ manifestKey: pushed.manifestKey, status: 'loaded' }]);
    expect(run.json.staleness?.environments).toMatchObject([{ env: 'laptop', level: 'OK' }]);
    expect((await db.query<{ status: string }>('SELECT status FROM aqe.sync_runs')).rows).toEqual([{ status: 'succeeded' }]);

    const again = await post({});
    expect(again.json.loads).toEqual([]);
  });

  it('answers 405 to GET and 400 to an invalid body', async () => {
    expect((await post(undefined, 'GET')).status).toBe(405);
    const bad = await post({ only: ['load', 'nope'] });
    expect(bad.status).toBe(400);
    expect(bad.json.issues?.join('\n')).toMatch(/only\.1/);
  });

  it('reports stale environments as structured log entries with matching severity', async () => {
    const old = new Date(Date.now() - 4 * DAY);
    await db.query(
      `INSERT INTO aqe.sync_runs (manifest_sha, env, snapshot_id, manifest_key, status, started_at, finished_at, duration_ms)
       VALUES ('stale-ci', 'ci', $1, 'snapshots/ci/x/manifest.json', 'succeeded', $2, $2, 1000),
              ('slow-laptop', 'laptop', $1, 'snapshots/laptop/y/manifest.json', 'succeeded', now(), now(), 600000)`,
      [snapshotIdAt(old), old],
    );
    const res = await post({ only: ['staleness'] });
    expect(res.status).toBe(200);
    const findings = res.json.staleness?.findings ?? [];
    expect(findings).toContainEqual(expect.objectContaining({ env: 'ci', level: 'CRITICAL', reason: 'no_recent_success' }));
    expect(findings).toContainEqual(expect.objectContaining({ env: 'laptop', level: 'WARNING', reason: 'slow_run' }));
    const entries = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e['event'] === 'staleness');
    expect(entries).toContainEqual(expect.objectContaining({ severity: 'CRITICAL', env: 'ci', level: 'CRITICAL', reason: 'no_recent_success' }));
    expect(entries).toContainEqual(expect.objectContaining({ severity: 'WARNING', env: 'laptop', level: 'WARNING', reason: 'slow_run' }));
  });
});

async function tableContents(db: DatabaseConnection): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of TARGET_TABLES) {
    const res = await db.query(
      `SELECT source_env, source_id, source_table, source_key, content_hash, missing_since IS NULL AS present FROM aqe.${t.name}
        ORDER BY source_env, source_id, source_table, source_key`,
    );
    out[t.name] = res.rows;
  }
  return out;
}

describe('reconcile (local directory store)', () => {
  it('ends out-of-order delivery in the same database as in-order delivery', async () => {
    const root = await workspace('ws-order');
    const bucket = join(dir, 'bucket-order');
    const store = new LocalDirBlobStore(bucket);
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      if (i > 0) await mutateStore(root, i);
      keys.push((await pushWorkspace(root, pathToFileURL(bucket).href, 'laptop')).manifestKey!);
    }
    const inOrder = await database('order_a');
    for (const k of keys) expect((await loadSnapshot({ store, db: inOrder.db }, k)).status).toBe('loaded');

    const late = await database('order_b');
    expect((await loadSnapshot({ store, db: late.db }, keys[2]!)).status).toBe('loaded'); // the only event delivered
    const report = await applyReconcile(deps(store, late.db), { only: ['load'] });
    expect(report.loads.map((l) => [l.manifestKey, l.status])).toEqual([
      [keys[0], 'loaded'],
      [keys[1], 'loaded'],
    ]);
    const a = await tableContents(inOrder.db);
    const b = await tableContents(late.db);
    expect(Object.values(a).flat().length).toBeGreaterThan(50);
    // the rows and their content first (conflict policy), then which rows are marked missing
    const withoutPresence = (x: Record<string, unknown[]>) =>
      Object.fromEntries(Object.entries(x).map(([t, rows]) => [t, rows.map((r) => ({ ...(r as object), present: undefined }))]));
    expect(withoutPresence(b)).toEqual(withoutPresence(a));
    // Known loader gap (functions/loader/write): a late, older snapshot marks rows missing that a
    // newer snapshot has, and inserts as present rows a newer snapshot no longer has.
    expect(b, 'missing_since after out-of-order delivery must equal in-order delivery').toEqual(a);
  });

  it('retries transient quarantines and failed runs, leaves terminal quarantines', async () => {
    const root = await workspace('ws-retry');
    const bucket = join(dir, 'bucket-retry');
    const store = new LocalDirBlobStore(bucket);
    const { db } = await database('retry');
    const base = (await pushWorkspace(root, pathToFileURL(bucket).href, 'laptop')).manifestKey!;
    const identity = async (key: string) => {
      const p = parseManifestKey(key)!;
      return { manifestSha: manifestSha256(await store.get(key)), env: p.env, snapshotId: p.snapshotId, manifestKey: key, snapshotCreatedAt: null };
    };
    await loadSnapshot({ store, db }, base); // migrates
    const transient = await copyManifest(store, base);
    await new RunLedger(db).recordFailure({ ...(await identity(transient)), status: 'quarantined', error: 'BUCKET_UNREACHABLE: timeout' });
    await new RunLedger(db).recordQuarantine({ env: 'laptop', manifestKey: transient, code: 'BUCKET_UNREACHABLE', reason: 'timeout', transient: true });
    const failed = await copyManifest(store, base);
    await new RunLedger(db).recordFailure({ ...(await identity(failed)), status: 'failed', error: 'DB_SCHEMA: something' });
    // terminal: a manifest whose env does not match its key
    const badId = snapshotIdAt(new Date());
    const bad = keyOf('laptop', badId);
    const json = JSON.parse((await store.get(base)).toString('utf8')) as Record<string, unknown>;
    await store.put(bad, Buffer.from(JSON.stringify({ ...json, snapshotId: badId, env: 'other' })));
    expect((await loadSnapshot({ store, db }, bad)).status).toBe('quarantined');

    const report = await applyReconcile(deps(store, db), { only: ['load', 'retry'] });
    expect(report.errors).toEqual([]);
    expect(report.loads).toEqual([]);
    expect(report.retries.map((r) => [r.manifestKey, r.reason, r.status]).sort()).toEqual(
      [
        [transient, 'transient_quarantine', 'loaded'],
        [failed, 'failed_run', 'loaded'],
      ].sort(),
    );
    expect(report.leftQuarantined).toMatchObject([{ manifestKey: bad, why: 'terminal', code: 'MANIFEST_ENV_MISMATCH' }]);
    const open = await db.query<{ manifest_key: string }>('SELECT manifest_key FROM aqe.quarantine WHERE resolved_at IS NULL');
    expect(open.rows).toEqual([{ manifest_key: bad }]);
  });

  it('retention never deletes an old blob that a push reuses while retention decides', async () => {
    const root = await workspace('ws-retention-race');
    const bucket = join(dir, 'bucket-retention-race');
    const bucketUrl = pathToFileURL(bucket).href;
    const store = new LocalDirBlobStore(bucket);
    const { db } = await database('retention_race');
    const storePath = join(root, '.claude-flow', 'memory', 'store.json');
    const original = await readFile(storePath);
    const blobOf = async (key: string) => {
      const m = JSON.parse((await store.get(key)).toString('utf8')) as { sources: { path: string; blobKey?: string; chunks?: { blobKey: string }[] }[] };
      const s = m.sources.find((x) => x.path === '.claude-flow/memory/store.json')!;
      return s.chunks?.[0]?.blobKey ?? s.blobKey!; // a small file is one chunk (format 2), one blob in format 1
    };
    const first = (await pushWorkspace(root, bucketUrl, 'laptop')).manifestKey!;
    await mutateStore(root, 1);
    await pushWorkspace(root, bucketUrl, 'laptop');
    const old = await copyManifest(store, first, snapshotIdAt(new Date(Date.now() - 100 * DAY)));
    await store.delete(first);
    const onlyOld = await blobOf(old);
    expect((await applyReconcile(deps(store, db), { only: ['load'] })).loads.map((l) => l.status)).toEqual(['loaded', 'loaded']);
    for await (const o of store.list('blobs/')) await ageFile(join(bucket, o.key), 100);
    await ageFile(join(bucket, old), 100);

    // store.json goes back to its first content: the next push reuses the old blob. That push runs
    // exactly between retention's last look at the blob and its delete.
    await writeFile(storePath, original);
    let racing: Promise<Awaited<ReturnType<typeof pushWorkspace>>> | null = null;
    const racy: BlobStore = Object.assign(Object.create(Object.getPrototypeOf(store) as object) as BlobStore, store, {
      stat: async (key: string) => {
        const seen = await store.stat(key);
        if (key === onlyOld && racing === null) {
          racing = pushWorkspace(root, bucketUrl, 'laptop');
          await racing;
        }
        return seen;
      },
    });
    const report = await applyReconcile(deps(racy, db), { only: ['retention'] });
    expect(racing).not.toBeNull();
    const pushed = await racing!;
    expect(await blobOf(pushed.manifestKey!)).toBe(onlyOld);
    expect(report.errors).toEqual([]);
    expect(report.retention?.manifests.map((m) => m.key)).toEqual([old]);
    expect(report.retention?.blobs).not.toContain(onlyOld);
    expect(report.retention?.spared).toContain(onlyOld);
    for (const b of blobKeysIn((await store.get(pushed.manifestKey!)).toString('utf8'))) expect(await store.exists(b), b).toBe(true);
    expect((await loadSnapshot({ store, db }, pushed.manifestKey!)).status).toBe('loaded');
  });

  it('retention keeps every referenced and every recent blob, even while a push runs', async () => {
    const root = await workspace('ws-retention');
    const bucket = join(dir, 'bucket-retention');
    const bucketUrl = pathToFileURL(bucket).href;
    const store = new LocalDirBlobStore(bucket);
    const { db, tdb } = await database('retention');
    const storeBlob = async (key: string) => {
      const m = JSON.parse((await store.get(key)).toString('utf8')) as { sources: { path: string; blobKey?: string; chunks?: { blobKey: string }[] }[] };
      const s = m.sources.find((x) => x.path === '.claude-flow/memory/store.json')!;
      return s.chunks?.[0]?.blobKey ?? s.blobKey!; // a small file is one chunk (format 2), one blob in format 1
    };
    const first = (await pushWorkspace(root, bucketUrl, 'laptop')).manifestKey!;
    await mutateStore(root, 1);
    const second = (await pushWorkspace(root, bucketUrl, 'laptop')).manifestKey!;
    // the first snapshot is 100 days old; its store.json blob is referenced by no other manifest
    const old = await copyManifest(store, first, snapshotIdAt(new Date(Date.now() - 100 * DAY)));
    await store.delete(first);
    const onlyOld = await storeBlob(old);
    expect(onlyOld).not.toBe(await storeBlob(second));
    expect((await applyReconcile(deps(store, db), { only: ['load'] })).loads.map((l) => l.status)).toEqual(['loaded', 'loaded']);
    const orphan = async (days: number) => {
      const bytes = randomBytes(64);
      const key = blobKey(createHash('sha256').update(bytes).digest('hex'));
      await store.put(key, gzipSync(bytes));
      if (days > 0) await ageFile(join(bucket, key), days);
      return key;
    };
    for await (const o of store.list('blobs/')) await ageFile(join(bucket, o.key), 100);
    await ageFile(join(bucket, old), 100);
    const oldOrphan = await orphan(30);
    const youngOrphan = await orphan(0); // a push in progress uploaded it a moment ago
    const oldReport = quarantineReportKey('laptop', snapshotIdAt(new Date(Date.now() - 120 * DAY)));
    const youngReport = quarantineReportKey('laptop', snapshotIdAt(new Date()));
    await store.put(oldReport, Buffer.from('{}'));
    await store.put(youngReport, Buffer.from('{}'));
    await ageFile(join(bucket, oldReport), 91);

    const dry = await applyReconcile(deps(store, db), { dryRun: true, only: ['retention'] });
    expect(dry.retention?.manifests.map((m) => m.key)).toEqual([old]);
    expect(dry.retention?.blobs).toEqual([onlyOld, oldOrphan].sort());
    expect(dry.retention?.quarantineObjects).toEqual([oldReport]);
    for (const k of [old, onlyOld, oldOrphan, oldReport]) expect(await store.exists(k), k).toBe(true);

    // the same, for real, while another push of the workspace is running
    await mutateStore(root, 2);
    const [pushed, report] = await Promise.all([pushWorkspace(root, bucketUrl, 'laptop'), applyReconcile(deps(store, db), { only: ['retention'] })]);
    expect(report.errors).toEqual([]);
    expect(report.retention?.manifests.map((m) => m.key)).toEqual([old]);
    expect(report.retention?.blobs).toEqual([onlyOld, oldOrphan].sort());
    for (const k of [old, onlyOld, oldOrphan, oldReport]) expect(await store.exists(k), k).toBe(false);
    for (const k of [second, pushed.manifestKey!, youngOrphan, youngReport]) expect(await store.exists(k), k).toBe(true);
    // every blob of every kept manifest is still there, and the concurrent push loads
    for await (const o of store.list('snapshots/')) {
      for (const b of blobKeysIn((await store.get(o.key)).toString('utf8'))) expect(await store.exists(b), `${o.key} → ${b}`).toBe(true);
    }
    expect((await loadSnapshot({ store, db }, pushed.manifestKey!)).status).toBe('loaded');

    // the CLI runs the same pass (local mode flags: --bucket, --database)
    const cli = await runCliInProcess(['reconcile', '--workspace', root, '--bucket', bucketUrl, '--database', tdb.url, '--dry-run', '--json']);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    const cliReport = JSON.parse(cli.stdout) as ReconcileReport;
    expect(cliReport.dryRun).toBe(true);
    expect(cliReport.retention?.blobs).toEqual([]);
    const text = await runCliInProcess(['reconcile', '--workspace', root, '--bucket', bucketUrl, '--database', tdb.url, '--only', 'load,staleness']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/laptop: OK/);
    const usage = await runCliInProcess(['reconcile', '--workspace', root, '--only', 'bogus']);
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toMatch(/Try: aqe-upload reconcile/);
  });
});
