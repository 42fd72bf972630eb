// End to end through the deployed shape: a workspace pushed with the real uploader to the GCS
// JSON-API test server (real @google-cloud/storage client), then the `loadSnapshot` Cloud
// Function served by the real Functions Framework receives real CloudEvents (binary and
// structured mode) over HTTP and loads native PostgreSQL (dialect `none`) with embeddings from
// the stand-in model. Non-manifest objects are acknowledged with no work; a database outage
// answers non-2xx so the platform redelivers, and the redelivery loads.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../functions/db/pg-database.js';
import type { BlobStore } from '../../functions/storage/blob-store.js';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { quarantineReportKey } from '../../schema/snapshot/object-keys.js';
import { type GcsServer, startGcsServer } from '../support/gcs-server.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { type BuiltWorkspace, buildWorkspace } from '../support/workspace-builder.js';
import { cloudCounts, cloudRowTotal, expectedCloudCounts, pushWorkspace, snapshotIdFor, tempDir, writeSnapshot } from './support/e2e-fixtures.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

const BUCKET = 'aqe-e2e-snapshots';
const MODEL_DIR = fileURLToPath(new URL('../../assets/models/all-MiniLM-L6-v2-standin', import.meta.url));

let tmp: Awaited<ReturnType<typeof tempDir>>;
let gcs: GcsServer;
let tdb: TestDatabase;
let proxy: TcpProxy;
let db: PgDatabase;
let store: BlobStore;
let ws: BuiltWorkspace;
let server: Server;
let base: string;
let eventId = 0;
const savedEnv = { ...process.env };

beforeAll(async () => {
  tmp = await tempDir('aqe-e2e-ff-');
  gcs = await startGcsServer();
  gcs.createBucket(BUCKET);
  tdb = await createTestDatabase('e2e_function');
  const url = new URL(tdb.url);
  proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
  url.port = String(proxy.port);
  db = new PgDatabase(tdb.url); // the test's own view, not through the proxy
  store = await openBlobStore(`gs://${BUCKET}`, { gcs: { apiEndpoint: gcs.endpoint, projectId: 'test' }, gcsRetry: { maxRetries: 0 } });
  ws = await buildWorkspace(join(tmp.dir, 'ws'), { volume: 'small', seed: 4 });

  // The function reads its configuration on the first event: set it before importing the entry.
  Object.assign(process.env, {
    AQE_DATABASE_URL: url.toString(),
    AQE_BUCKET: BUCKET,
    AQE_GCS_API_ENDPOINT: gcs.endpoint,
    AQE_MODEL_DIR: MODEL_DIR,
    AQE_EMBED_BUDGET_SECONDS: '60',
    AQE_LOG_LEVEL: 'ERROR',
  });
  await import('../../functions/index.js');
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  server = getTestServer('loadSnapshot') as Server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await proxy?.stop(); // cuts the function's pooled connections
  await db?.close();
  await tdb?.drop();
  await gcs?.close();
  await ws?.close();
  await tmp?.remove();
  process.env = savedEnv;
});

function objectData(name: string, bucket = BUCKET) {
  return { bucket, name, generation: '1712345678901234', metageneration: '1', contentType: 'application/json', size: '1024', timeCreated: new Date().toISOString(), updated: new Date().toISOString() };
}

/** POSTs a binary-mode CloudEvent (ce-* headers, the data as the body). */
async function binaryEvent(name: string, bucket = BUCKET): Promise<Response> {
  const id = `evt-${++eventId}`;
  return fetch(base, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': id,
      'ce-source': `//storage.googleapis.com/projects/_/buckets/${bucket}`,
      'ce-type': 'google.cloud.storage.object.v1.finalized',
      'ce-subject': `objects/${name}`,
      'ce-time': new Date().toISOString(),
    },
    body: JSON.stringify(objectData(name, bucket)),
  });
}

/** POSTs a structured-mode CloudEvent (the whole event as application/cloudevents+json). */
async function structuredEvent(name: string): Promise<Response> {
  return fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({
      specversion: '1.0',
      id: `evt-${++eventId}`,
      source: `//storage.googleapis.com/projects/_/buckets/${BUCKET}`,
      type: 'google.cloud.storage.object.v1.finalized',
      subject: `objects/${name}`,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: objectData(name),
    }),
  });
}

const runs = async (where = 'true', params: unknown[] = []) =>
  (await db.query<{ id: string; status: string; manifest_key: string; rows_inserted: string; rows_unchanged: string; rows_updated: string }>(`SELECT id, status, manifest_key, rows_inserted, rows_unchanged, rows_updated FROM aqe.sync_runs WHERE ${where} ORDER BY id`, params as never[])).rows;

describe('the loadSnapshot function under the Functions Framework', () => {
  let firstKey: string;

  it('loads a pushed snapshot announced by a binary-mode CloudEvent', async () => {
    const push = await pushWorkspace(ws.root, 'laptop', store);
    firstKey = push.manifestKey!;
    expect(gcs.objects(BUCKET).has(firstKey)).toBe(true);
    const res = await binaryEvent(firstKey);
    expect(res.status, await res.text()).toBeGreaterThanOrEqual(200);
    expect(res.status).toBeLessThan(300);

    expect(await cloudCounts(db, 'laptop')).toEqual(expectedCloudCounts(ws));
    const r = await runs();
    expect(r.map((x) => [x.status, x.manifest_key])).toEqual([['succeeded', firstKey]]);
    // embeddings of the text tables were computed within the budget by the stand-in model
    const emb = await db.query<{ status: string; n: string }>(`SELECT embedding_status AS status, count(*) AS n FROM aqe.memory_entries WHERE source_env = 'laptop' GROUP BY 1`);
    expect(Object.fromEntries(emb.rows.map((x) => [x.status, Number(x.n)]))).toEqual({ done: expect.any(Number) });
    const dims = await db.query<{ n: number }>(`SELECT DISTINCT array_length(embedding, 1) AS n FROM aqe.memory_entries WHERE source_env = 'laptop'`);
    expect(dims.rows).toEqual([{ n: 384 }]);
  });

  it('acknowledges a structured-mode redelivery of the same manifest without a new run', async () => {
    const res = await structuredEvent(firstKey);
    expect(res.status).toBeLessThan(300);
    expect((await runs()).length).toBe(1);
  });

  it('loads a new snapshot of the same content from a structured-mode CloudEvent, all unchanged', async () => {
    const push = await pushWorkspace(ws.root, 'laptop', store);
    const res = await structuredEvent(push.manifestKey!);
    expect(res.status).toBeLessThan(300);
    const [run] = await runs('manifest_key = $1', [push.manifestKey]);
    expect(run).toMatchObject({ status: 'succeeded' });
    expect(Number(run?.rows_inserted)).toBe(0);
    expect(Number(run?.rows_updated)).toBe(0);
    // every row, companion vector rows (a row's own vector in source_vectors) included
    expect(Number(run?.rows_unchanged)).toBe(await cloudRowTotal(db, 'laptop'));
    expect(await cloudRowTotal(db, 'laptop')).toBeGreaterThanOrEqual(Object.values(expectedCloudCounts(ws)).reduce((a, b) => a + b, 0));
  });

  it('acknowledges objects that are not manifests, and other buckets, with no work', async () => {
    const before = (await runs()).length;
    const blob = [...gcs.objects(BUCKET).keys()].find((k) => k.startsWith('blobs/sha256/'));
    expect(blob).toBeDefined();
    for (const res of [await binaryEvent(blob!), await structuredEvent('notes/readme.txt'), await binaryEvent(firstKey, 'some-other-bucket')]) {
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(300);
    }
    expect((await runs()).length).toBe(before);
    expect([...gcs.objects(BUCKET).keys()].some((k) => k.startsWith('quarantine/'))).toBe(false);
  });

  it('acknowledges a hostile snapshot after quarantining it in the bucket', async () => {
    const snapshotId = snapshotIdFor(42);
    const written = await writeSnapshot(store, {
      env: 'laptop',
      snapshotId,
      sources: [{ path: 'v3/.ruvector/intelligence.json', sourceId: 'ruvector-intelligence', format: 'ruvector-intelligence', bytes: Buffer.from('{"patterns":{"s|a":{"q_value":1e400}}}') }],
    });
    const res = await binaryEvent(written.manifestKey);
    expect(res.status).toBeLessThan(300);
    const report = JSON.parse(gcs.objects(BUCKET).get(quarantineReportKey('laptop', snapshotId))?.toString('utf8') ?? 'null') as { code: string } | null;
    expect(report?.code).toBe('VALUE_INVALID');
    expect((await runs('manifest_key = $1', [written.manifestKey])).map((r) => r.status)).toEqual(['quarantined']);
  });

  it('answers non-2xx while the database is unreachable, and loads on redelivery', async () => {
    const swarm = join(ws.root, '.swarm/memory.db');
    const sq = new Database(swarm);
    sq.prepare('UPDATE memory_entries SET value = ?, updated_at = updated_at + 100 WHERE id = (SELECT min(id) FROM memory_entries)').run(JSON.stringify({ changed: true }));
    sq.close();
    const push = await pushWorkspace(ws.root, 'laptop', store);

    await proxy.stop();
    try {
      const res = await binaryEvent(push.manifestKey!);
      expect(res.status).toBeGreaterThanOrEqual(500);
    } finally {
      await proxy.start();
    }
    expect(await runs('manifest_key = $1', [push.manifestKey])).toEqual([]);

    const retry = await binaryEvent(push.manifestKey!);
    expect(retry.status).toBeLessThan(300);
    const [run] = await runs('manifest_key = $1', [push.manifestKey]);
    expect(run?.status).toBe('succeeded');
    expect(Number(run?.rows_updated)).toBe(1);
  });
});
