// The push's write stage: the blob actions a plan lists (plan-push.ts), then the manifest LAST
// (its arrival commits the snapshot). A new chunk's bytes are read back from the snapshot copy by
// offset, checked against its sha256 and compressed on a worker thread, then put create-only; a
// few chunks are in flight at once (bounded memory). The first failure stops new work and is
// thrown once the blobs in flight are done: then no manifest is written.

import type { BlobStore, ObjectInfo } from '../../functions/storage/blob-store.js';
import { codecContentType } from '../../functions/storage/blob-codec.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import { blobKey } from '../../schema/snapshot/object-keys.js';
import { readChunk } from '../snapshot/content-chunks.js';
import type { CompressPool } from './compress-pool.js';
import type { BlobAction, WrittenBlob } from './plan-push.js';

/** A reused blob updated longer ago than this is touched (retention's safety window is at least 1 h). */
export const TOUCH_AFTER_MS = 10 * 60 * 1000;

/** Blobs handled at once (each holds at most one chunk of at most 4 MiB and its compressed bytes). */
export const BLOBS_IN_FLIGHT = 4;

/**
 * Carries out `actions`: uploads new blobs, touches old reused ones (a blob gone before its touch,
 * deleted by retention, is uploaded again). Returns what each blob is now.
 * @example const written = await writeBlobs(store, plan.actions, pool)
 */
export async function writeBlobs(store: BlobStore, actions: readonly BlobAction[], pool: CompressPool): Promise<Map<string, WrittenBlob>> {
  const written = new Map<string, WrittenBlob>();
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < actions.length) {
      const action = actions[next++]!;
      try {
        written.set(action.sha256, await writeBlob(store, action, pool));
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BLOBS_IN_FLIGHT, actions.length) }, worker));
  if (failure !== null) throw blobWriteFailed(failure);
  return written;
}

/** What a push throws when a blob could not be stored: no manifest is written. */
export function blobWriteFailed(cause: unknown): AppError {
  const base = cause instanceof AppError ? cause : new AppError('BUCKET_UNREACHABLE', errorMessage(cause), { cause, transient: true });
  return new AppError(base.code, `${base.message}\nNo manifest was written, so no snapshot was committed; run the push again (blobs already stored are not sent twice)`, {
    cause,
    transient: base.transient,
    ...(base.details ? { details: base.details } : {}),
  });
}

/** Uploads or touches one blob (a `touch` whose blob is gone is uploaded again). */
export async function writeBlob(store: BlobStore, action: BlobAction, pool: CompressPool): Promise<WrittenBlob> {
  if (action.kind === 'touch') {
    const touched: ObjectInfo | null = await store.touch(blobKey(action.sha256, action.codec));
    if (touched !== null) return { codec: action.codec, storedSize: touched.size, uploadedBytes: 0, existed: true };
    // gone before the touch (retention): stored again below (in the codec it had: still readable)
  }
  const codec = action.codec;
  const data = await readChunk(action.from.path, { offset: action.from.offset, size: action.size }, pool.chunkBuffer(action.size));
  const body = await pool.compress(data, codec, action.sha256); // data may be moved to the worker: not used below
  const key = blobKey(action.sha256, codec);
  const put = await store.put(key, body, { ifAbsent: true, contentType: codecContentType(codec), metadata: { sha256: action.sha256, size: String(action.size) } });
  if (put.created) return { codec, storedSize: put.bytes, uploadedBytes: put.bytes, existed: false };
  // Another push stored the same content meanwhile: that is fine, it is the same bytes.
  const info = await store.stat(key);
  return { codec, storedSize: info?.size ?? body.byteLength, uploadedBytes: 0, existed: true };
}

/**
 * Puts the manifest, create-only: its arrival commits the snapshot.
 * @example await writeManifest(store, manifestKey(env, id), bytes)
 */
export async function writeManifest(store: BlobStore, key: string, bytes: Buffer): Promise<void> {
  try {
    await store.put(key, bytes, { ifAbsent: true, contentType: 'application/json' });
  } catch (err) {
    const base = err instanceof AppError ? err : new AppError('BUCKET_UNREACHABLE', errorMessage(err), { cause: err, transient: true });
    throw new AppError(base.code, `${base.message}\nThe manifest was not written, so no snapshot was committed; run the push again (blobs already stored are not sent twice)`, {
      cause: err,
      transient: base.transient,
      ...(base.details ? { details: base.details } : {}),
    });
  }
}
