// The push, run the same way against a local directory bucket and against the GCS JSON-API test
// server through the real @google-cloud/storage client.

import { createHash } from 'node:crypto';
import { appendFile, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assembleSourceFile } from '../../../functions/loader/read/assemble-source-file.js';
import type { BlobStore } from '../../../functions/storage/blob-store.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { openBlobStore } from '../../../functions/storage/open-blob-store.js';
import type { CapturedSource, Manifest } from '../../../schema/snapshot/manifest.js';
import { sourceChunks } from '../../../schema/snapshot/manifest.js';
import { manifestSha256, parseManifest } from '../../../schema/snapshot/manifest.js';
import { parseManifestKey } from '../../../schema/snapshot/object-keys.js';
import type { UploaderConfig } from '../../../uploader/config.js';
import { loadConfig } from '../../../uploader/config.js';
import { runPush } from '../../../uploader/push/run-push.js';
import { TOUCH_AFTER_MS } from '../../../uploader/push/write-push.js';
import type { GcsServer } from '../../support/gcs-server.js';
import { startGcsServer } from '../../support/gcs-server.js';
import type { BuiltWorkspace } from '../../support/workspace-builder.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { tempFolder } from './cli-harness.js';

interface Backend {
  name: string;
  /** A fresh, empty bucket: its URL and a store on it. */
  bucket(): Promise<{ url: string; store: BlobStore }>;
}

let gcs: GcsServer;
let bucketCount = 0;
beforeAll(async () => {
  gcs = await startGcsServer();
});
afterAll(async () => {
  await gcs.close();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function folder(): Promise<string> {
  const t = await tempFolder();
  cleanups.push(t.remove);
  return t.dir;
}

const BACKENDS: Backend[] = [
  {
    name: 'local directory',
    async bucket() {
      const url = `file://${join(await folder(), 'bucket')}`;
      return { url, store: await openBlobStore(url) };
    },
  },
  {
    name: 'GCS JSON API (real client)',
    async bucket() {
      const name = `aqe-push-${++bucketCount}`;
      gcs.createBucket(name);
      const url = `gs://${name}/team/aqe`;
      return { url, store: await openBlobStore(url, { gcs: { apiEndpoint: gcs.endpoint, projectId: 'test' }, gcsRetry: { maxRetries: 0 } }) };
    },
  },
];

async function list(store: BlobStore, prefix: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const o of store.list(prefix)) out.set(o.key, o.size);
  return out;
}

async function readManifest(store: BlobStore, key: string): Promise<{ manifest: Manifest; bytes: Buffer }> {
  const bytes = await store.get(key);
  const parsed = parseManifest(bytes);
  if (!parsed.ok) throw new Error(parsed.issues.join('\n'));
  return { manifest: parsed.manifest, bytes };
}

describe.each(BACKENDS)('push to a $name bucket', (backend) => {
  let ws: BuiltWorkspace;
  let config: Readonly<UploaderConfig>;
  let store: BlobStore;

  async function setup(env = 'laptop'): Promise<void> {
    const root = await folder();
    ws = await buildWorkspace(root, { volume: 'small' });
    cleanups.push(() => ws.close());
    const b = await backend.bucket();
    store = b.store;
    config = loadConfig({ flags: { env, bucket: b.url }, env: {}, workspace: root, configText: null });
  }

  it('stores every source as chunk blobs named by their sha256 and codec and commits a valid manifest last', async () => {
    await setup();
    const result = await runPush({ config, store });
    expect(result.partial).toBe(false);
    expect(result.manifestKey).toBe(`snapshots/laptop/${result.snapshotId}/manifest.json`);
    const { manifest, bytes } = await readManifest(store, result.manifestKey!);
    expect(result.manifestSha256).toBe(manifestSha256(bytes));
    expect(parseManifestKey(result.manifestKey!)?.env).toBe(manifest.env);
    expect(manifest.tool.name).toBe('aqe-upload');
    // no host name unless configured (AQE_HOST)
    expect(manifest.host).toBeUndefined();

    const captured = manifest.sources.filter((s): s is CapturedSource => s.status === 'captured');
    expect(captured.map((s) => s.path).sort()).toEqual(ws.files.filter((f) => !f.endsWith('aqe-sync.config.json')).sort());
    for (const s of captured) {
      expect(s.path.startsWith('/')).toBe(false);
      const restored = join(tmpdir(), `aqe-push-test-${process.pid}-restored`);
      await assembleSourceFile(store, s, restored);
      const content = await readFile(restored);
      await rm(restored);
      expect(createHash('sha256').update(content).digest('hex'), s.path).toBe(s.sha256);
      expect(content.length).toBe(s.size);
    }
    // Every count the builder promises is in the manifest, as a number.
    for (const [key, rows] of Object.entries(ws.expected)) {
      const [sourceId, table] = key.split('/') as [string, string];
      const counts = captured.filter((s) => s.sourceId === sourceId).flatMap((s) => s.tables);
      expect(counts.find((t) => t.name === table)?.rows, key).toBe(rows);
    }
    const blobs = await list(store, 'blobs/');
    expect(result.totals.uploadedBytes).toBe([...blobs.values()].reduce((a, b) => a + b, 0));
    expect(result.totals.newBlobs).toBe(blobs.size);
  });

  it('uploads 0 blob bytes when the workspace has not changed, and writes a new small manifest by default', async () => {
    await setup();
    const first = await runPush({ config, store });
    const blobsBefore = await list(store, 'blobs/');
    const second = await runPush({ config, store });
    expect(second.totals.uploadedBytes).toBe(0);
    expect(second.totals.newBlobs).toBe(0);
    expect(second.sources.every((s) => s.status !== 'captured' || (s.uploadedBytes === 0 && s.skippedBytes === s.size))).toBe(true);
    expect(await list(store, 'blobs/')).toEqual(blobsBefore);
    expect(second.manifestKey).not.toBe(first.manifestKey);
    expect((await list(store, 'snapshots/')).size).toBe(2);
  });

  it('with skipUnchanged writes nothing for an unchanged workspace, and a manifest once something changed', async () => {
    await setup();
    const first = await runPush({ config, store, skipUnchanged: true });
    expect(first.manifestWritten).toBe(true);
    const again = await runPush({ config, store, skipUnchanged: true });
    expect(again).toMatchObject({ unchanged: true, manifestWritten: false, manifestKey: null, previousSnapshotId: first.snapshotId });
    expect((await list(store, 'snapshots/')).size).toBe(1);

    const storeJson = join(config.workspace, '.claude-flow', 'memory', 'store.json');
    const doc = JSON.parse(await readFile(storeJson, 'utf8')) as { entries: Record<string, unknown> };
    doc.entries['new-key'] = { key: 'new-key', value: 1, storedAt: '2025-01-01T00:00:00.000Z', accessCount: 0, lastAccessed: '2025-01-01T00:00:00.000Z' };
    await writeFile(storeJson, JSON.stringify(doc));
    const changed = await runPush({ config, store, skipUnchanged: true });
    expect(changed.manifestWritten).toBe(true);
    expect(changed.totals.newBlobs).toBe(1);
    expect(changed.sources.filter((s) => s.newBlob).map((s) => s.path)).toEqual(['.claude-flow/memory/store.json']);
  });

  it('dry run reports new and already-stored bytes and writes nothing', async () => {
    await setup();
    const dry = await runPush({ config, store, dryRun: true });
    expect(dry.manifestWritten).toBe(false);
    expect(dry.totals.newBytes).toBe(dry.totals.bytes);
    expect(dry.totals.uploadedBytes).toBe(0);
    expect((await list(store, '')).size).toBe(0);

    await runPush({ config, store });
    await appendFile(join(config.workspace, '.claude-flow', 'metrics', 'learning.json'), '\n');
    const before = await list(store, '');
    const dry2 = await runPush({ config, store, dryRun: true });
    expect(dry2.totals.newBlobs).toBe(1);
    expect(dry2.totals.skippedBytes).toBe(dry2.totals.bytes - dry2.totals.newBytes);
    expect(await list(store, '')).toEqual(before);
  });
});

describe('a reused blob', () => {
  it('is touched when last updated over TOUCH_AFTER_MS ago (so retention spares it), and left alone when fresh', async () => {
    const dir = await folder();
    const ws = join(dir, 'ws');
    await buildWorkspace(ws, { volume: 'small', seed: 3 });
    const bucket = join(dir, 'bucket');
    const store = new LocalDirBlobStore(bucket);
    const config = loadConfig({ flags: { workspace: ws, env: 'touch', bucket: `file://${bucket}` }, env: {}, workspace: ws, configText: null });
    const first = await runPush({ config, store });
    const keys = [...new Set(first.manifest.sources.flatMap((s) => (s.status === 'captured' ? sourceChunks(s).map((c) => c.blobKey) : [])))];
    expect(keys.length).toBeGreaterThan(1);
    const setAll = async (d: Date) => {
      for (const key of keys) await utimes(join(bucket, key), d, d);
    };

    const recent = new Date(Math.floor((Date.now() - TOUCH_AFTER_MS / 2) / 1000) * 1000);
    await setAll(recent);
    expect((await runPush({ config, store })).totals).toMatchObject({ uploadedBytes: 0, newBlobs: 0 });
    for (const key of keys) expect((await store.stat(key))!.updated.getTime()).toBe(recent.getTime());

    const old = new Date(Math.floor((Date.now() - 100 * 24 * 3600 * 1000) / 1000) * 1000);
    await setAll(old);
    const before = Date.now();
    const again = await runPush({ config, store });
    expect(again.totals).toMatchObject({ uploadedBytes: 0, newBlobs: 0 });
    expect(again.totals.skippedBytes).toBe(again.totals.bytes);
    for (const key of keys) expect((await store.stat(key))!.updated.getTime()).toBeGreaterThanOrEqual(before - 1000);

    // a dry run only looks
    await setAll(old);
    await runPush({ config, store, dryRun: true });
    for (const key of keys) expect((await store.stat(key))!.updated.getTime()).toBe(old.getTime());

    // a blob retention deleted is stored again
    await rm(join(bucket, keys[0]!));
    const healed = await runPush({ config, store });
    expect(healed.totals.newBlobs).toBe(1);
    expect(await store.stat(keys[0]!)).not.toBeNull();
  });
});
