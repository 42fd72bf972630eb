// Snapshots of SQLite files that another process keeps committing to: every copy is one point in
// time (integrity ok, COUNT(*) = MAX(id)), the -wal content is included, and the source's journal
// mode is left alone.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { assembleSourceFile } from '../../../functions/loader/read/assemble-source-file.js';
import type { BlobStore } from '../../../functions/storage/blob-store.js';
import { openBlobStore } from '../../../functions/storage/open-blob-store.js';
import type { CapturedSource, Manifest } from '../../../schema/snapshot/manifest.js';
import { parseManifest } from '../../../schema/snapshot/manifest.js';
import { loadConfig } from '../../../uploader/config.js';
import { runPush } from '../../../uploader/push/run-push.js';
import { startWriter } from '../../support/sqlite-writer.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { tempFolder } from './cli-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function workspace(): Promise<string> {
  const t = await tempFolder();
  cleanups.push(t.remove);
  return t.dir;
}

function configFor(root: string) {
  return loadConfig({ flags: {}, env: {}, workspace: root, configText: null });
}

async function manifestOf(store: BlobStore, key: string): Promise<Manifest> {
  const parsed = parseManifest(await store.get(key));
  if (!parsed.ok) throw new Error(parsed.issues.join('\n'));
  return parsed.manifest;
}

/** Reassembles a captured source from its chunk blobs into `dest`, as the loader does. */
async function restore(store: BlobStore, source: CapturedSource, dest: string): Promise<string> {
  await assembleSourceFile(store, source, dest);
  return dest;
}

function checkCopy(path: string): { integrity: string; count: number; max: number } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const { count, max } = db.prepare('SELECT COUNT(*) AS count, COALESCE(MAX(id), 0) AS max FROM writer_rows').get() as { count: number; max: number };
    return { integrity, count, max };
  } finally {
    db.close();
  }
}

function journalModeOf(path: string): string {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return String(db.pragma('journal_mode', { simple: true }));
  } finally {
    db.close();
  }
}

describe.each(['wal', 'delete'] as const)('snapshots of a SQLite file under continuous writes (%s journal)', (journal) => {
  it('gives consistent copies every time and leaves the journal mode unchanged', async () => {
    const root = await workspace();
    const dbPath = join(root, 'v3', '.agentic-qe', 'memory.db');
    await mkdir(join(root, 'v3', '.agentic-qe'), { recursive: true });
    const writer = await startWriter({ dbPath, journal });
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await writer.kill();
    });
    const config = configFor(root);
    const store = await openBlobStore(config.bucket);
    const copies: Array<{ integrity: string; count: number; max: number; manifestRows: number | undefined }> = [];
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 150));
      const result = await runPush({ config });
      expect(result.partial).toBe(false);
      const manifest = await manifestOf(store, result.manifestKey!);
      const v3 = manifest.sources.find((s): s is CapturedSource => s.sourceId === 'v3-memory' && s.status === 'captured');
      expect(v3).toBeDefined();
      const copy = await restore(store, v3!, join(root, `copy-${i}.db`));
      copies.push({ ...checkCopy(copy), manifestRows: v3!.tables.find((t) => t.name === 'writer_rows')?.rows });
    }
    const { committed } = await writer.stop();
    stopped = true;

    for (const c of copies) {
      expect(c.integrity).toBe('ok');
      expect(c.count).toBe(c.max);
      expect(c.count).toBeGreaterThan(0);
      expect(c.count).toBeLessThanOrEqual(committed);
      expect(c.manifestRows).toBe(c.count);
    }
    // The writer kept committing between snapshots: the copies are distinct points in time.
    expect(new Set(copies.map((c) => c.count)).size).toBeGreaterThan(1);
    expect(journalModeOf(dbPath)).toBe(journal);
  });
});

describe('a WAL database whose last commits are only in its -wal file', () => {
  it('is captured with those commits', async () => {
    const root = await workspace();
    const ws = await buildWorkspace(root, { volume: 'small', holdWal: true });
    cleanups.push(() => ws.close());
    expect(Object.keys(ws.heldInWal).length).toBeGreaterThan(0);

    const config = configFor(root);
    const result = await runPush({ config });
    const store = await openBlobStore(config.bucket);
    const manifest = await manifestOf(store, result.manifestKey!);
    const v3 = manifest.sources.find((s): s is CapturedSource => s.sourceId === 'v3-memory' && s.status === 'captured')!;
    const copy = await restore(store, v3, join(root, 'v3-copy.db'));
    const db = new Database(copy, { readonly: true });
    try {
      for (const key of Object.keys(ws.heldInWal)) {
        const table = key.slice('v3-memory/'.length);
        const rows = (db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n;
        expect(rows, table).toBe(ws.expected[key]);
        expect(v3.tables.find((t) => t.name === table)?.rows, table).toBe(ws.expected[key]);
      }
    } finally {
      db.close();
    }
  });
});
