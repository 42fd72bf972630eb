// Storing one captured file as a content-addressed gzip blob: skipped when the blob exists,
// otherwise gzip-streamed from the temp copy into a create-only put (memory stays flat for any size).

import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { createGzip } from 'node:zlib';
import { blobKey } from '../../schema/snapshot/object-keys.js';
import type { BlobStore } from '../../functions/storage/blob-store.js';

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

/**
 * Puts the gzip of `path` (whose uncompressed sha256 is `sha256`) unless the store has it.
 * With `dryRun`, only looks.
 * @example await storeBlob(store, '/tmp/aqe-upload-x/0', sha, 1234)
 */
export async function storeBlob(store: BlobStore, path: string, sha256: string, size: number, options: { dryRun?: boolean } = {}): Promise<BlobOutcome> {
  const key = blobKey(sha256);
  if (options.dryRun) {
    const existing = await store.stat(key);
    return { key, created: false, storedSize: existing?.size ?? 0, uploadedBytes: 0, existed: existing !== null };
  }
  // A stored blob is reused, and touched: retention spares blobs updated within its safety window
  // and deletes only if unchanged since it looked, so it cannot delete this one under the push.
  // Gone (deleted by retention before the touch): stored again below.
  const existing = await store.touch(key);
  if (existing !== null) return { key, created: false, storedSize: existing.size, uploadedBytes: 0, existed: true };
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
