// Cloud Storage faults, with the real client against the GCS test server: random 429/500/503,
// slow responses and dropped connections on every kind of request. A push completes (the client's
// and the store's retries) and the loader, fed by the same faulty server, loads the snapshot into
// native PostgreSQL with every expected row (retrying transient failures as the platform does).
// With a permanent fault, push and load fail within a bounded time with an error that names the
// operation and the object and says the retries ran out; nothing is half-visible, nothing written.

import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { ensureMigrated } from '../../../functions/db/migrate.js';
import { type LoadOutcome, loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { GcsBlobStore, type GcsRetryOptions } from '../../../functions/storage/gcs-blob-store.js';
import { AppError } from '../../../schema/errors.js';
import { loadConfig } from '../../../uploader/config.js';
import { type PushResult, runPush } from '../../../uploader/push/run-push.js';
import { cloudCounts, expectedCloudCounts, targetRowTotal, tempDir } from '../../e2e/support/e2e-fixtures.js';
import { type FaultRequest, type GcsServer, startGcsServer } from '../../support/gcs-server.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { type BuiltWorkspace, buildWorkspace } from '../../support/workspace-builder.js';
import { BucketAuditor } from './support/bucket-audit.js';
import { loadWithPlatformRetries, randomGcsFaults } from './support/gcs-fault-mix.js';

const ENV = 'laptop';
/** A small retry budget for the permanent-fault cases (the production default waits up to ~2 min per request). */
const SHORT_RETRY: GcsRetryOptions = { maxRetries: 2, maxDelayMs: 1000, totalTimeoutMs: 10_000 };

let tmp: Awaited<ReturnType<typeof tempDir>>;
let ws: BuiltWorkspace;
let server: GcsServer;

function storeFor(bucket: string, retry?: GcsRetryOptions): GcsBlobStore {
  return new GcsBlobStore({
    bucket,
    storageOptions: { apiEndpoint: server.endpoint, projectId: 'test' },
    // Small resumable chunks: a blob goes up in several requests, each of which can fail on its own.
    resumableChunkBytes: 256 * 1024,
    ...(retry === undefined ? {} : { retry }),
  });
}

function push(store: GcsBlobStore) {
  return runPush({ config: loadConfig({ flags: { env: ENV, bucket: store.url }, env: {}, workspace: ws.root, configText: null }), store });
}

async function bookkeeping(db: PgDatabase): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['sync_runs', 'sync_state', 'undo_log', 'quarantine']) out[t] = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM aqe.${t}`)).rows[0]?.n);
  return out;
}

beforeAll(async () => {
  tmp = await tempDir('aqe-gcs-faults-');
  ws = await buildWorkspace(join(tmp.dir, 'ws'), { volume: 'plan', seed: 21 });
  server = await startGcsServer();
  for (const b of ['aqe-random', 'aqe-drop-final', 'aqe-upload-down', 'aqe-all-down', 'aqe-load-down', 'aqe-drop-download']) server.createBucket(b);
});
afterAll(async () => {
  await server?.close();
  await ws?.close();
  await tmp?.remove();
});

describe('random Cloud Storage faults (429/500/503, slow responses, dropped connections)', () => {
  let tdb: TestDatabase;
  let db: PgDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase('gcs_faults_random');
    db = new PgDatabase(tdb.url);
    await ensureMigrated(db);
  });
  afterAll(async () => {
    await db?.close();
    await tdb?.drop();
  });

  it('pushes complete through retries (or fail clearly with nothing half-visible), and the loader loads the snapshot with every expected row', async () => {
    const rates = { statusProbability: 0.1, delayProbability: 0.08, delayMs: 250, dropProbability: 0.05 };
    const mix = randomGcsFaults(rates);
    server.setFaults(mix.faults);
    try {
      const store = storeFor('aqe-random');
      const auditor = new BucketAuditor(storeFor('aqe-random', { maxRetries: 0 }));
      const pushStarted = performance.now();
      // A push that fails is run again, as a user or `watch` would; each failure must be clear and
      // leave no manifest whose blobs are missing.
      const failures: string[] = [];
      let pushed: Awaited<ReturnType<typeof push>> | null = null;
      while (pushed === null && failures.length < 8) {
        try {
          pushed = await push(store);
        } catch (err) {
          expect(err).toBeInstanceOf(AppError);
          expect((err as AppError).message).toMatch(/^(?:put|stat|check|get|list) gs:\/\/aqe-random\/?\S*: [^\n]+\nNo manifest was written, so no snapshot was committed; run the push again/);
          failures.push((err as AppError).message.split('\n')[0]!);
          server.setFaults({});
          const audit = await auditor.audit();
          server.setFaults(mix.faults);
          expect(audit.violations).toEqual([]);
          expect(audit.manifests).toEqual([]);
        }
      }
      const pushMs = performance.now() - pushStarted;
      const pushFaults = server.faultsInjected;
      expect(pushed, `no push completed in ${failures.length} attempts:\n${failures.join('\n')}`).not.toBeNull();
      expect(pushed!.partial).toBe(false);

      // The load's requests run one at a time: its first two downloads are certain to meet a fault too.
      const loadMix = randomGcsFaults(rates, { forceStatus: { kind: 'download', count: 2 } });
      server.setFaults(loadMix.faults);
      const loadStarted = performance.now();
      const { outcome, attempts, transientErrors } = await loadWithPlatformRetries({ store, db }, pushed!.manifestKey!, 15);
      const loadMs = performance.now() - loadStarted;
      expect(outcome.status, JSON.stringify(outcome)).toBe('loaded');
      expect(await cloudCounts(db, ENV)).toEqual(expectedCloudCounts(ws));
      expect((await bookkeeping(db)).quarantine).toBe(0);

      server.setFaults({});
      const audit = await auditor.audit();
      expect(audit.violations).toEqual([]);
      expect(audit.manifests).toEqual([pushed!.manifestKey]);
      // The faults really hit the transfers: uploads, chunks, metadata and downloads alike.
      expect(pushFaults).toBeGreaterThanOrEqual(3);
      expect(server.faultsInjected - pushFaults).toBeGreaterThanOrEqual(2);
      // chunk blobs (at most 4 MiB before compression) go up in single-request uploads, not resumable ones
      for (const kind of ['upload', 'metadata'] as const) expect(mix.requests[kind], kind).toBeGreaterThan(0);
      expect(loadMix.requests.download).toBeGreaterThan(2);
      console.info(
        `random GCS faults: push ${(pushMs / 1000).toFixed(1)} s through ${pushFaults} faults in ${failures.length + 1} attempt(s)${failures.map((f) => `\n  failed push: ${f}`).join('')}\n` +
          `load ${(loadMs / 1000).toFixed(1)} s in ${attempts} attempt(s) through ${server.faultsInjected - pushFaults} faults${transientErrors.map((e) => `\n  transient load failure: ${e}`).join('')}\n` +
          `requests by kind: push ${JSON.stringify(mix.requests)}, load ${JSON.stringify(loadMix.requests)}`,
      );
    } finally {
      server.setFaults({});
    }
  });

  it('a connection dropped after a blob was stored: the push completes (the put finds the object it stored), and the next push does not re-send it', async () => {
    const small = await buildWorkspace(join(tmp.dir, 'ws-small'), { volume: 'small', seed: 4 });
    try {
      const store = storeFor('aqe-drop-final');
      await runPush({ config: loadConfig({ flags: { env: ENV, bucket: store.url }, env: {}, workspace: small.root, configText: null }), store });
      // One new source (one chunk, one blob): the next push stores exactly that blob, then its manifest.
      const notes = Buffer.from(`${JSON.stringify({ notes: Array.from({ length: 2000 }, () => randomBytes(300).toString('hex')) })}\n`);
      const configText = JSON.stringify({ extraSources: [{ id: 'team-notes', path: 'notes/team.json' }] });
      await mkdir(join(small.root, 'notes'));
      await writeFile(join(small.root, 'notes/team.json'), notes);
      const config = loadConfig({ flags: { env: ENV, bucket: store.url }, env: {}, workspace: small.root, configText });
      let seen = 0;
      // the answer to the blob's upload (the push's first upload; the manifest comes last) is lost
      server.setFaults({ drop: {}, when: (r) => r.kind === 'upload' && ++seen === 1 });
      const first = await runPush({ config, store }).then(
        (result) => ({ result, err: null }),
        (err: unknown) => ({ result: null, err }),
      );
      server.setFaults({});
      expect(seen, 'the blob was never sent').toBeGreaterThanOrEqual(1);
      const audit = await new BucketAuditor(store).audit();
      expect(audit.violations).toEqual([]);
      const noted = (r: PushResult) => r.sources.find((s) => s.path === 'notes/team.json')!;
      // the object was stored before the response was lost: the retried single-request upload is
      // refused as create-only (412: a content-addressed object of the same bytes exists), so the
      // push completes, counting that blob as already stored
      expect(first.err).toBeNull();
      expect(noted(first.result!).status).toBe('captured');
      expect(audit.manifests).toContain(first.result!.manifestKey);
      const again = await runPush({ config, store });
      expect(noted(again).newBlob).toBe(false);
      expect(noted(again).uploadedBytes).toBe(0);
    } finally {
      server.setFaults({});
      await small.close();
    }
  });
});

describe('a permanent Cloud Storage fault (every request answered 503)', () => {
  let tdb: TestDatabase;
  let db: PgDatabase;
  beforeAll(async () => {
    tdb = await createTestDatabase('gcs_faults_permanent');
    db = new PgDatabase(tdb.url);
    await ensureMigrated(db);
  });
  afterAll(async () => {
    server.setFaults({});
    await db?.close();
    await tdb?.drop();
  });

  /** Runs `fn` under the fault; returns its error and how long it took to fail. */
  async function failing(faults: Parameters<GcsServer['setFaults']>[0], fn: () => Promise<unknown>): Promise<{ err: AppError; ms: number; faults: number }> {
    const before = server.faultsInjected;
    server.setFaults(faults);
    const started = performance.now();
    try {
      const err = await fn().then(
        () => null,
        (e: unknown) => e,
      );
      const ms = performance.now() - started;
      expect(err, 'the operation succeeded under a permanent fault').toBeInstanceOf(AppError);
      return { err: err as AppError, ms, faults: server.faultsInjected - before };
    } finally {
      server.setFaults({});
    }
  }

  it('on uploads: the push fails after its retry budget naming the blob, and no manifest appears', async () => {
    const uploads = (r: FaultRequest) => r.kind === 'upload' || r.kind === 'upload-chunk';
    const { err, ms, faults } = await failing({ status: { code: 503 }, when: uploads }, () => push(storeFor('aqe-upload-down', SHORT_RETRY)));
    expect(err.code).toBe('BUCKET_UNREACHABLE');
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/^put gs:\/\/aqe-upload-down\/blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.(?:gz|zst): Cloud Storage did not answer successfully after retries/);
    expect(err.message).toMatch(/503/);
    expect(err.message).toMatch(/No manifest was written, so no snapshot was committed; run the push again/);
    expect(faults, 'the request was not retried').toBeGreaterThanOrEqual(1 + SHORT_RETRY.maxRetries!);
    expect(ms).toBeLessThan(30_000);
    expect([...server.objects('aqe-upload-down').keys()]).toEqual([]);
    console.info(`permanent 503 on uploads: push failed after ${(ms / 1000).toFixed(1)} s and ${faults} answered faults: ${err.message.split('\n')[0]}`);
  });

  it('on every request: the push fails at the bucket check, naming the bucket', async () => {
    const { err, ms } = await failing({ status: { code: 503 } }, () => push(storeFor('aqe-all-down', SHORT_RETRY)));
    expect(err.code).toBe('BUCKET_UNREACHABLE');
    expect(err.message).toMatch(/^check gs:\/\/aqe-all-down: Cloud Storage did not answer successfully after retries \(HTTP 503/);
    expect(ms).toBeLessThan(30_000);
    expect([...server.objects('aqe-all-down').keys()]).toEqual([]);
  });

  it('AQE_STORAGE_RETRIES=0 (e.g. in CI): the push fails at the first 503 instead of riding it out', async () => {
    // the CLI's way: a gs:// URL in the config and the client found by the environment
    const saved = process.env['STORAGE_EMULATOR_HOST'];
    process.env['STORAGE_EMULATOR_HOST'] = server.endpoint;
    try {
      const config = loadConfig({ flags: { bucket: 'gs://aqe-all-down' }, env: { AQE_STORAGE_RETRIES: '0' }, workspace: ws.root, configText: null });
      expect(config.storageRetries).toBe(0);
      const { err, ms, faults } = await failing({ status: { code: 503 } }, () => runPush({ config }));
      expect(err.code).toBe('BUCKET_UNREACHABLE');
      expect(err.message).toMatch(/^check gs:\/\/aqe-all-down: .*HTTP 503/);
      expect(faults, 'answered with one fault, not retried').toBe(1);
      expect(ms).toBeLessThan(10_000);
    } finally {
      if (saved === undefined) delete process.env['STORAGE_EMULATOR_HOST'];
      else process.env['STORAGE_EMULATOR_HOST'] = saved;
    }
  });

  it('on downloads: the load fails after its retry budget naming the object, writes nothing and quarantines nothing', async () => {
    const pushed = await push(storeFor('aqe-load-down'));
    const store = storeFor('aqe-load-down', SHORT_RETRY);
    const empty = { sync_runs: 0, sync_state: 0, undo_log: 0, quarantine: 0 };

    // The manifest itself cannot be read.
    const all = await failing({ status: { code: 503 } }, () => loadSnapshot({ store, db }, pushed.manifestKey!));
    expect(all.err.code).toBe('BUCKET_UNREACHABLE');
    expect(all.err.transient).toBe(true);
    expect(all.err.message).toContain(`get gs://aqe-load-down/${pushed.manifestKey}: Cloud Storage did not answer successfully after retries (HTTP 503`);
    expect(all.ms).toBeLessThan(30_000);

    // The manifest is read, every blob download fails: a network fault, not a bad snapshot.
    const blobDownloads = (r: FaultRequest) => r.kind === 'download' && decodeURIComponent(r.path).includes('/o/blobs/');
    const blobs = await failing({ status: { code: 503 }, when: blobDownloads }, () => loadSnapshot({ store, db }, pushed.manifestKey!));
    expect(blobs.err.code).toBe('BUCKET_UNREACHABLE');
    expect(blobs.err.transient).toBe(true);
    expect(blobs.err.message).toMatch(/^get gs:\/\/aqe-load-down\/blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.(?:gz|zst): Cloud Storage did not answer successfully after retries \(HTTP 503/);
    expect(blobs.ms).toBeLessThan(30_000);

    expect(await bookkeeping(db)).toEqual(empty);
    expect(await targetRowTotal(db)).toBe(0);
    expect([...server.objects('aqe-load-down').keys()].filter((k) => k.startsWith('quarantine/'))).toEqual([]);

    // Once the fault clears, the same snapshot loads.
    const healed: LoadOutcome = await loadSnapshot({ store, db }, pushed.manifestKey!);
    expect(healed.status).toBe('loaded');
    expect(await cloudCounts(db, ENV)).toEqual(expectedCloudCounts(ws));
    console.info(`permanent 503 on downloads: load failed after ${(all.ms / 1000).toFixed(1)} s (manifest) and ${(blobs.ms / 1000).toFixed(1)} s (blobs): ${blobs.err.message.split('\n')[0]}`);
  });

  it('a blob download cut mid-transfer is retried within the same delivery (no redelivery needed)', async () => {
    const pushed = await push(storeFor('aqe-drop-download'));
    const store = storeFor('aqe-drop-download', SHORT_RETRY);
    const blobDownloads = (r: FaultRequest) => r.kind === 'download' && decodeURIComponent(r.path).includes('/o/blobs/');
    const before = server.faultsInjected;
    server.setFaults({ drop: { next: 2 }, when: blobDownloads });
    try {
      const outcome = await loadSnapshot({ store, db }, pushed.manifestKey!);
      expect(outcome.status).toBe('loaded');
    } finally {
      server.setFaults({});
    }
    expect(server.faultsInjected - before).toBe(2);
    expect(await cloudCounts(db, ENV)).toEqual(expectedCloudCounts(ws));
  });
});
