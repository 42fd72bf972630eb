// The push's read stage: capture each present file into a temp folder (a consistent copy, read
// once for its sha256 and chunks), then look up which chunk blobs the store already has, and the
// environment's latest manifest when skip-unchanged needs it. Nothing is written here.

import { join } from 'node:path';
import type { BlobStore } from '../../functions/storage/blob-store.js';
import type { Manifest } from '../../schema/snapshot/manifest.js';
import { BLOB_CODECS, type BlobCodec, blobKey } from '../../schema/snapshot/object-keys.js';
import type { CaptureOptions, CaptureOutcome } from '../snapshot/capture.js';
import { captureFile } from '../snapshot/capture.js';
import type { DiscoveredFile } from '../workspace/discover.js';
import type { StoredBlob } from './plan-push.js';
import { findLatestManifest } from './previous-manifest.js';

/** Stat requests to the store at once (each is one small request; Cloud Storage takes many in parallel). */
export const LOOKUPS_IN_FLIGHT = 16;

/**
 * Captures `files` into `dir`, a few at a time, the largest first; `onCaptured` is called as each one is done.
 * A file that cannot be captured is an outcome saying why (it never stops the others).
 */
export async function captureAll(
  files: readonly DiscoveredFile[],
  dir: string,
  options: CaptureOptions & { concurrency: number; onCaptured?: (file: DiscoveredFile, done: number) => void },
): Promise<Map<DiscoveredFile, CaptureOutcome>> {
  const out = new Map<DiscoveredFile, CaptureOutcome>();
  // largest first: the small files are read while the large ones' blobs are compressed, instead of
  // a large file found last being read alone at the end (the outcomes are keyed, not ordered)
  const order = files.map((file, i) => ({ file, i })).sort((a, b) => (b.file.size ?? 0) - (a.file.size ?? 0) || a.i - b.i);
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < order.length) {
      const { file, i } = order[next++]!;
      out.set(file, await captureFile(file, join(dir, `${i}.copy`), options));
      options.onCaptured?.(file, ++done);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, files.length)) }, worker));
  return out;
}

/**
 * Which of these chunk blobs the store has: each sha256 looked up in the preferred codec, then in
 * the others (an older push may have stored it as gzip). null: in no codec.
 */
export async function lookupStoredBlobs(store: BlobStore, sha256s: Iterable<string>, preferred: BlobCodec): Promise<Map<string, StoredBlob | null>> {
  const todo = [...new Set(sha256s)];
  const found = new Map<string, StoredBlob | null>();
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const sha256 = todo[next++]!;
      found.set(sha256, await lookupStoredBlob(store, sha256, preferred));
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUPS_IN_FLIGHT, todo.length) }, worker));
  return found;
}

/** The blob the store has for one chunk: looked up in the preferred codec, then in the others; null: in none. */
export async function lookupStoredBlob(store: BlobStore, sha256: string, preferred: BlobCodec): Promise<StoredBlob | null> {
  for (const codec of [preferred, ...BLOB_CODECS.filter((c) => c !== preferred)]) {
    const info = await store.stat(blobKey(sha256, codec));
    if (info !== null) return { codec, size: info.size, updated: info.updated };
  }
  return null;
}

/** The environment's latest manifest, or null (none yet). */
export async function latestManifest(store: BlobStore, env: string): Promise<Manifest | null> {
  return (await findLatestManifest(store, env))?.manifest ?? null;
}
