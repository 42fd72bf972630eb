// The push's write-ahead and its integrity check on a worker thread, on real files and a real
// local bucket: a large SQLite source's chunks are stored while the source is still being read
// (the read and the upload overlap), the manifest still arrives last, and what was stored early is
// exactly what the manifest lists; a damaged page is still refused at push time whether
// `quick_check` runs on a compression worker (the default) or on the calling thread.
import { open, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutOptions, PutResult } from '../../../functions/storage/blob-store.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { parseManifest, sourceChunks } from '../../../schema/snapshot/manifest.js';
import { loadConfig } from '../../../uploader/config.js';
import { LOOKUPS_IN_FLIGHT } from '../../../uploader/push/read-push.js';
import { type PushOptions, runPush } from '../../../uploader/push/run-push.js';
import { rowsForSize, writeLargeSqlite } from '../../support/large-sources.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { tempFolder } from './cli-harness.js';

const MB = 1024 * 1024;
const CONFIG = JSON.stringify({ extraSources: [{ id: 'big-store', path: 'big/large.db' }] });

/** A local bucket that notes every put, in order. */
class RecordingStore extends LocalDirBlobStore {
  readonly events: string[] = [];
  override async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<PutResult> {
    const result = await super.put(key, body, options);
    this.events.push(`put ${key}`);
    return result;
  }
}

let t: Awaited<ReturnType<typeof tempFolder>>;
let ws: string;

beforeAll(async () => {
  t = await tempFolder();
  ws = join(t.dir, 'ws');
  await buildWorkspace(ws, { volume: 'small', seed: 11 });
  await writeLargeSqlite(join(ws, 'big/large.db'), { rows: rowsForSize(40 * MB, 200), payloadBytes: 200, journal: 'delete' });
});
afterAll(async () => {
  await t?.remove();
});

function push(workspace: string, store: LocalDirBlobStore, extra: Partial<PushOptions> = {}) {
  const config = loadConfig({ flags: { workspace, env: 'ahead', bucket: pathToFileURL(store.root).href }, env: {}, workspace, configText: CONFIG });
  return runPush({ config, store, ...extra });
}

describe('the write-ahead', () => {
  it("stores a large source's chunks while the source is still being read, and writes the manifest last", async () => {
    const store = new RecordingStore(join(t.dir, 'bucket-ahead'));
    const result = await push(ws, store, {
      onProgress: (e) => {
        if (e.phase === 'capture') store.events.push(`captured ${e.path}`);
      },
    });
    expect(result.partial).toBe(false);
    const parsed = parseManifest(await store.get(result.manifestKey!));
    if (!parsed.ok) throw new Error(parsed.issues.join('\n'));
    const big = parsed.manifest.sources.find((s) => s.status === 'captured' && s.path === 'big/large.db')!;
    const bigKeys = new Set(sourceChunks(big as never).map((c) => `put ${c.blobKey}`));
    expect(bigKeys.size).toBeGreaterThan(20);

    const readDone = store.events.indexOf('captured big/large.db');
    const storedBefore = store.events.slice(0, readDone).filter((e) => bigKeys.has(e));
    // chunks went up before the file's read ended, not after the whole workspace was read; and the
    // read never ran more than LOOKUPS_IN_FLIGHT chunks ahead of the stores (a bounded pipeline)
    expect(storedBefore.length).toBeGreaterThan(0);
    expect(storedBefore.length).toBeGreaterThanOrEqual(bigKeys.size - LOOKUPS_IN_FLIGHT);
    // the commit point is unchanged: the manifest is the last put, after every blob it lists
    expect(store.events.filter((e) => e.startsWith('put ')).at(-1)).toBe(`put ${result.manifestKey}`);
    for (const key of bigKeys) expect(store.events).toContain(key);
    // every blob stored was sent once: the plan made after the read had nothing left for them
    const puts = store.events.filter((e) => e.startsWith('put blobs/'));
    expect(new Set(puts).size).toBe(puts.length);
    expect(result.totals.newBlobs).toBe(puts.length);
  });

  it('refuses a source with a damaged page (quick_check on a worker and on this thread alike), and pushes the rest', async () => {
    const damaged = join(t.dir, 'ws-damaged');
    await buildWorkspace(damaged, { volume: 'small', seed: 12 });
    const path = join(damaged, 'big/large.db');
    await writeLargeSqlite(path, { rows: rowsForSize(12 * MB, 200), payloadBytes: 200, journal: 'delete' }); // over 8 MiB: checked on a worker by default
    // overwrite one leaf page in the middle of the table with garbage: the file still opens
    const db = new Database(path, { readonly: true });
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.close();
    const fh = await open(path, 'r+');
    await fh.write(Buffer.alloc(pageSize, 0x5a), 0, pageSize, Math.floor(pages / 2) * pageSize);
    await fh.close();

    for (const compressThreads of [2, 0]) {
      const store = new LocalDirBlobStore(join(t.dir, `bucket-damaged-${compressThreads}`));
      const result = await push(damaged, store, { compressThreads });
      const bad = result.sources.find((s) => s.path === 'big/large.db')!;
      expect(bad, `compressThreads ${compressThreads}`).toMatchObject({ status: 'failed', code: 'SOURCE_CORRUPT' });
      // SQLite reports such a page as rows of quick_check or as an error: both are named the same way
      expect(bad.reason).toMatch(/^big\/large\.db: .*(the SQLite database is damaged|the file is damaged).*restore it from a backup/);
      expect(result.partial).toBe(true);
      expect(result.sources.filter((s) => s.status === 'captured').length).toBeGreaterThan(3);
      await rm(store.root, { recursive: true, force: true });
    }
  });
});
