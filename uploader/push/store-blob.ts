// Storing one captured file as content-addressed chunk blobs: the file is cut into content-defined
// chunks (content-chunks.ts); each chunk whose blob the store already has (in either codec) is
// reused, the others are compressed on worker threads and put create-only. A one-row change in a
// large SQLite file changes one or two chunks: only those are sent. Memory stays bounded (a few
// chunks of at most 4 MiB in flight).

import { createHash } from 'node:crypto';
import type { BlobStore, ObjectInfo } from '../../functions/storage/blob-store.js';
import { codecContentType } from '../../functions/storage/blob-codec.js';
import type { ChunkRef } from '../../schema/snapshot/manifest.js';
import { BLOB_CODECS, type BlobCodec, blobKey } from '../../schema/snapshot/object-keys.js';
import type { CompressPool } from './compress-pool.js';
import { type ChunkerSettings, CHUNKING, fileChunks, WHOLE_FILE_MAX_BYTES } from './content-chunks.js';

/** One chunk's outcome. */
export interface BlobOutcome {
  chunk: ChunkRef;
  /** true when this push wrote the blob. */
  created: boolean;
  /** Compressed bytes this push sent (0 when the blob was already there, or in a dry run). */
  uploadedBytes: number;
  /** true when the blob was already in the store before this push (or, in a dry run, is there). */
  existed: boolean;
}

/** One file's outcome: its chunks in order. */
export interface FileBlobsOutcome {
  chunks: ChunkRef[];
  /** Sum of the chunks' stored (compressed) sizes (0 for chunks a dry run would store). */
  storedSize: number;
  uploadedBytes: number;
  /** Uncompressed bytes of the chunks the store already had. */
  existingBytes: number;
  /** Chunk blobs this push wrote (or would write, in a dry run). */
  newBlobs: string[];
}

/** A reused blob updated longer ago than this is touched (retention's safety window is at least 1 h). */
export const TOUCH_AFTER_MS = 10 * 60 * 1000;

/** Chunks of one file being stored at once (bounded memory; uploads overlap compression). */
const CHUNKS_IN_FLIGHT = 3;

export interface StoreFileOptions {
  dryRun?: boolean;
  /** The codec new blobs are written with. */
  codec: BlobCodec;
  pool: CompressPool;
  /** Shared across the files of one push: the same chunk in two files (or twice in one) is stored once. */
  seen?: Map<string, Promise<BlobOutcome>>;
  chunking?: ChunkerSettings;
  /** Files up to this size are one blob (default WHOLE_FILE_MAX_BYTES; Infinity: no chunking, the bench's whole-file baseline). */
  wholeFileMaxBytes?: number;
}

/**
 * Cuts the file at `path` into chunks and stores each chunk's blob unless the store has it.
 * @example const out = await storeFileChunks(store, '/tmp/aqe-upload-x/0.copy', { codec: 'zstd', pool })
 */
export async function storeFileChunks(store: BlobStore, path: string, options: StoreFileOptions): Promise<FileBlobsOutcome> {
  const seen = options.seen ?? new Map<string, Promise<BlobOutcome>>();
  const pending: Promise<BlobOutcome>[] = [];
  const inFlight = new Set<Promise<unknown>>();
  let failed: unknown = null;
  for await (const data of fileChunks(path, options.chunking ?? CHUNKING, options.wholeFileMaxBytes ?? WHOLE_FILE_MAX_BYTES)) {
    if (failed !== null) break;
    const sha256 = createHash('sha256').update(data).digest('hex');
    let p = seen.get(sha256);
    if (p === undefined) {
      p = storeChunk(store, data, sha256, options);
      seen.set(sha256, p);
      const tracked: Promise<unknown> = p.then(
        () => inFlight.delete(tracked),
        (err: unknown) => {
          failed ??= err;
          inFlight.delete(tracked);
        },
      );
      inFlight.add(tracked);
      if (inFlight.size >= CHUNKS_IN_FLIGHT) await Promise.race(inFlight);
    }
    pending.push(p);
  }
  const outcomes = await Promise.all(pending);
  const chunks = outcomes.map((o) => o.chunk);
  // a chunk listed twice in one file (or seen in an earlier file) counts once for what was sent
  const mine = new Set<BlobOutcome>();
  for (const o of outcomes) mine.add(o);
  let uploadedBytes = 0;
  let existingBytes = 0;
  const newBlobs: string[] = [];
  for (const o of mine) {
    uploadedBytes += o.uploadedBytes;
    if (o.existed) existingBytes += o.chunk.size;
    else newBlobs.push(o.chunk.blobKey);
  }
  return { chunks, storedSize: chunks.reduce((a, c) => a + c.storedSize, 0), uploadedBytes, existingBytes, newBlobs };
}

/** Looks for the chunk's blob in the preferred codec, then in the others (an older push may have stored it as gzip). */
async function findStored(store: BlobStore, sha256: string, preferred: BlobCodec): Promise<{ codec: BlobCodec; info: ObjectInfo } | null> {
  for (const codec of [preferred, ...BLOB_CODECS.filter((c) => c !== preferred)]) {
    const info = await store.stat(blobKey(sha256, codec));
    if (info !== null) return { codec, info };
  }
  return null;
}

async function storeChunk(store: BlobStore, data: Buffer, sha256: string, options: StoreFileOptions): Promise<BlobOutcome> {
  const chunkSize = data.byteLength;
  const ref = (codec: BlobCodec, storedSize: number): ChunkRef => ({ sha256, size: chunkSize, storedSize, codec, blobKey: blobKey(sha256, codec) });
  const found = await findStored(store, sha256, options.codec);
  if (options.dryRun) {
    return found ? { chunk: ref(found.codec, found.info.size), created: false, uploadedBytes: 0, existed: true } : { chunk: ref(options.codec, 0), created: false, uploadedBytes: 0, existed: false };
  }
  if (found !== null) {
    // A stored blob is reused. Retention spares blobs updated within its safety window (at least
    // an hour) and deletes only if unchanged since it looked, so a blob updated in the last
    // TOUCH_AFTER_MS is safe as it is; an older one is touched (its updated time moves). Touching
    // only those keeps many pushes of the same content (CI fleets) under Cloud Storage's limit of
    // one update per second per object. Gone before the touch (retention): stored again below.
    const reused = (info: ObjectInfo): BlobOutcome => ({ chunk: ref(found.codec, info.size), created: false, uploadedBytes: 0, existed: true });
    if (Date.now() - found.info.updated.getTime() < TOUCH_AFTER_MS) return reused(found.info);
    const touched = await store.touch(blobKey(sha256, found.codec));
    if (touched !== null) return reused(touched);
  }
  const codec = options.codec;
  const size = data.byteLength;
  const body = await options.pool.compress(data, codec); // data may be moved to the worker: not used below
  const key = blobKey(sha256, codec);
  const put = await store.put(key, body, { ifAbsent: true, contentType: codecContentType(codec), metadata: { sha256, size: String(size) } });
  if (put.created) return { chunk: ref(codec, put.bytes), created: true, uploadedBytes: put.bytes, existed: false };
  // Another push stored the same content meanwhile: that is fine, it is the same bytes.
  const info = await store.stat(key);
  return { chunk: ref(codec, info?.size ?? body.byteLength), created: false, uploadedBytes: 0, existed: true };
}
