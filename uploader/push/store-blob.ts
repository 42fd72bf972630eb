// Storing one captured file as a content-addressed gzip blob: skipped when the blob exists,
// otherwise gzip-streamed from the temp copy into a create-only put (memory stays flat for any size).

import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { blobKey } from '../../schema/snapshot/object-keys.js';
import type { BlobStore, ObjectInfo } from '../../functions/storage/blob-store.js';

export interface BlobOutcome {
  key: string;
  /** true when this push wrote the blob. */
  created: boolean;
  /** Compressed bytes as stored (0 in a dry run for a blob not stored yet). */
  storedSize: number;
  /** Compressed bytes this push sent (0 when the blob was already there, or in a dry run). */
  uploadedBytes: number;
  /** true when the blob was already in the store before this push. */
  existed: boolean;
}

/** A reused blob updated longer ago than this is touched (retention's safety window is at least 1 h). */
export const TOUCH_AFTER_MS = 10 * 60 * 1000;

/**
 * Puts the gzip of `path` (whose uncompressed sha256 is `sha256`) unless the store has it (then
 * touches it if it was last updated over TOUCH_AFTER_MS ago). With `dryRun`, only looks.
 * @example await storeBlob(store, '/tmp/aqe-upload-x/0', sha, 1234)
 */
export async function storeBlob(store: BlobStore, path: string, sha256: string, size: number, options: { dryRun?: boolean } = {}): Promise<BlobOutcome> {
  const key = blobKey(sha256);
  const reused = (info: ObjectInfo): BlobOutcome => ({ key, created: false, storedSize: info.size, uploadedBytes: 0, existed: true });
  const seen = await store.stat(key);
  if (options.dryRun) return { key, created: false, storedSize: seen?.size ?? 0, uploadedBytes: 0, existed: seen !== null };
  if (seen !== null) {
    // A stored blob is reused. Retention spares blobs updated within its safety window (at least
    // an hour) and deletes only if unchanged since it looked, so a blob updated in the last
    // TOUCH_AFTER_MS is safe as it is; an older one is touched (its updated time moves). Touching
    // only those keeps many pushes of the same content (CI fleets) under Cloud Storage's limit of
    // one update per second per object. Gone before the touch (retention): stored again below.
    if (Date.now() - seen.updated.getTime() < TOUCH_AFTER_MS) return reused(seen);
    const touched = await store.touch(key);
    if (touched !== null) return reused(touched);
  }
  // pipeline() (not .pipe()) so a read error destroys the gzip stream and fails the put.
  const body = pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), createGzip({ level: 6 }), () => {});
  const put = await store.put(key, body, {
    ifAbsent: true,
    contentType: 'application/gzip',
    metadata: { sha256, size: String(size) },
  });
  if (put.created) return { key, created: true, storedSize: put.bytes, uploadedBytes: put.bytes, existed: false };
  // Another push stored the same content meanwhile: that is fine, it is the same bytes.
  const info = await store.stat(key);
  return { key, created: false, storedSize: info?.size ?? 0, uploadedBytes: 0, existed: true };
}
