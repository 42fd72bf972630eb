// Chunked incremental push, both sides for real: the uploader cuts a large SQLite source into
// content-defined chunks (one blob each, the manifest lists them in order), a one-row change sends
// only the chunks around that row, and the loader's reassembly gives back the captured file
// byte for byte. Blobs an older push stored in the other codec (gzip) are reused, not sent again.
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleSourceFile } from '../../../functions/loader/read/assemble-source-file.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { type CapturedSourceV2, type ManifestV2, parseManifest, sourceChunks } from '../../../schema/snapshot/manifest.js';
import { parseBlobKeyParts } from '../../../schema/snapshot/object-keys.js';
import { loadConfig } from '../../../uploader/config.js';
import { WHOLE_FILE_MAX_BYTES } from '../../../uploader/snapshot/content-chunks.js';
import { type PushOptions, runPush } from '../../../uploader/push/run-push.js';
import { rowsForSize, writeLargeSqlite } from '../../support/large-sources.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { tempFolder } from './cli-harness.js';

const MB = 1024 * 1024;
const EXTRA_CONFIG = JSON.stringify({ extraSources: [{ id: 'big-store', path: 'big/large.db' }] });

let t: Awaited<ReturnType<typeof tempFolder>>;
let ws: string;
let large: string;

beforeAll(async () => {
  t = await tempFolder();
  ws = join(t.dir, 'ws');
  await buildWorkspace(ws, { volume: 'small', seed: 7 });
  large = (await writeLargeSqlite(join(ws, 'big/large.db'), { rows: rowsForSize(24 * MB, 200), payloadBytes: 200, journal: 'delete' })).path;
});
afterAll(async () => {
  await t?.remove();
});

function push(bucket: string, extra: Partial<PushOptions> = {}) {
  const config = loadConfig({ flags: { workspace: ws, env: 'chunks', bucket: pathToFileURL(bucket).href }, env: {}, workspace: ws, configText: EXTRA_CONFIG });
  return runPush({ config, ...extra });
}

async function manifestOf(store: LocalDirBlobStore, key: string): Promise<ManifestV2> {
  const parsed = parseManifest(await store.get(key));
  if (!parsed.ok) throw new Error(parsed.issues.join('\n'));
  if (parsed.manifest.formatVersion !== 2) throw new Error('expected format 2');
  return parsed.manifest;
}

const bigOf = (m: ManifestV2) => m.sources.find((s): s is CapturedSourceV2 => s.status === 'captured' && s.path === 'big/large.db')!;

describe('a chunked push', () => {
  it('sends only the chunks around a one-row change, and the loader reassembles the captured file exactly', async () => {
    const bucket = join(t.dir, 'bucket-incremental');
    const store = new LocalDirBlobStore(bucket);
    const first = await push(bucket);
    const m1 = await manifestOf(store, first.manifestKey!);
    const big1 = bigOf(m1);
    // ~1 MiB chunks: a 24 MB file is many of them, in order, adding up to the file
    expect(big1.chunks.length).toBeGreaterThan(8);
    expect(big1.chunks.length).toBeLessThan(48);
    expect(big1.chunks.reduce((a, c) => a + c.size, 0)).toBe(big1.size);
    // small files stay one blob
    for (const s of m1.sources) if (s.status === 'captured' && s.size <= WHOLE_FILE_MAX_BYTES && s.size > 0) expect(sourceChunks(s), s.path).toHaveLength(1);

    // one row changes in the middle of the table
    const db = new Database(large);
    db.prepare('UPDATE large_rows SET value = ? WHERE id = ?').run('changed by the test', 50_000);
    db.close();

    const second = await push(bucket);
    const m2 = await manifestOf(store, second.manifestKey!);
    const big2 = bigOf(m2);
    expect(big2.sha256).not.toBe(big1.sha256);
    const bigResult = second.sources.find((s) => s.path === 'big/large.db')!;
    expect(bigResult.newChunks).toBeGreaterThanOrEqual(1);
    expect(bigResult.newChunks).toBeLessThanOrEqual(3);
    // a small part of the first push's bytes (the small files did not change: 0 bytes)
    expect(second.totals.uploadedBytes).toBeLessThan(first.totals.uploadedBytes * 0.2);
    const before = new Set(big1.chunks.map((c) => c.sha256));
    expect(big2.chunks.filter((c) => !before.has(c.sha256)).length).toBe(bigResult.newChunks);

    // the other side: the loader's reassembly gives the captured file (sha256 checked chunk by chunk and whole)
    const out = join(t.dir, 'restored.db');
    await assembleSourceFile(store, big2, out);
    expect(createHash('sha256').update(await readFile(out)).digest('hex')).toBe(big2.sha256);
    const restored = new Database(out, { readonly: true });
    expect(restored.prepare('SELECT value FROM large_rows WHERE id = ?').get(50_000)).toEqual({ value: 'changed by the test' });
    restored.close();
    await rm(out);
  });

  it('reuses blobs an earlier push stored as gzip when it now writes zstd, and records each chunk’s codec', async () => {
    const bucket = join(t.dir, 'bucket-codecs');
    const store = new LocalDirBlobStore(bucket);
    const gz = await push(bucket, { codec: 'gzip' });
    const m1 = await manifestOf(store, gz.manifestKey!);
    for (const s of m1.sources) if (s.status === 'captured') for (const c of sourceChunks(s)) expect(parseBlobKeyParts(c.blobKey)).toEqual({ sha256: c.sha256, codec: 'gzip' });

    const zst = await push(bucket, { codec: 'zstd' });
    expect(zst.totals.uploadedBytes).toBe(0);
    expect(zst.totals.newBlobs).toBe(0);
    const m2 = await manifestOf(store, zst.manifestKey!);
    expect(bigOf(m2).chunks.map((c) => c.codec)).toEqual(bigOf(m1).chunks.map(() => 'gzip'));

    // a new chunk is written with zstd, next to the gzip ones
    const db = new Database(large);
    db.prepare('UPDATE large_rows SET value = ? WHERE id = ?').run('changed again', 10);
    db.close();
    const third = await push(bucket, { codec: 'zstd' });
    const big3 = bigOf(await manifestOf(store, third.manifestKey!));
    expect(new Set(big3.chunks.map((c) => c.codec))).toEqual(new Set(['gzip', 'zstd']));
    const out = join(t.dir, 'restored-mixed.db');
    await assembleSourceFile(store, big3, out);
    expect(createHash('sha256').update(await readFile(out)).digest('hex')).toBe(big3.sha256);
    await rm(out);
  });
});
