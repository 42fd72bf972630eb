// Materialises one captured source file from its blobs: each chunk is streamed from the store,
// decompressed with the codec the manifest records, checked against its own size and sha256, and
// appended to the file, while the whole file's sha256 and size are checked too. Format 1 sources
// (one gzip blob for the whole file) are the one-chunk case. The file appears only when every
// check passed, so a damaged, missing or substituted chunk never reaches a reader.

import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { AppError, errorMessage, isAppError } from '../../../schema/errors.js';
import { type CapturedSource, type ChunkRef, sourceChunks } from '../../../schema/snapshot/manifest.js';
import { createDecompressStream } from '../../storage/blob-codec.js';
import type { BlobStore } from '../../storage/blob-store.js';

/**
 * Writes `source`'s content to `outFile` from its chunk blobs in `store`. Throws CHECKSUM_MISMATCH
 * (a chunk or the whole file has another hash or size), BLOB_CORRUPT (not valid for its codec,
 * truncated) or OBJECT_NOT_FOUND (a chunk's blob is gone), each naming the file, the chunk index,
 * its blob and its expected sha256; CODEC_UNAVAILABLE when this process cannot read the codec.
 * @example await assembleSourceFile(store, source, '/tmp/run/0-ab12')
 */
export async function assembleSourceFile(store: Pick<BlobStore, 'getStream'>, source: CapturedSource, outFile: string): Promise<void> {
  const chunks = sourceChunks(source);
  const whole = createHash('sha256');
  let total = 0;
  const partial = `${outFile}.partial`;
  const fh = await open(partial, 'w');
  let ok = false;
  try {
    for (const [index, chunk] of chunks.entries()) {
      const where: ChunkPlace = { path: source.path, index, count: chunks.length, chunk };
      total += await appendChunk(store, where, whole, (buf) => fh.write(buf).then(() => undefined));
    }
    await fh.close();
    const digest = whole.digest('hex');
    if (total !== source.size || digest !== source.sha256) {
      throw new AppError(
        'CHECKSUM_MISMATCH',
        `${source.path}: its ${chunks.length} chunk(s) assemble to ${total !== source.size ? `${total} bytes instead of ${source.size}` : `sha256 ${digest} instead of ${source.sha256}`}, the file the manifest records. The snapshot's chunk list does not match its file; push the snapshot again from its workspace.`,
        { details: { path: source.path, expectedSha256: source.sha256 } },
      );
    }
    await rename(partial, outFile);
    ok = true;
  } finally {
    if (!ok) {
      await fh.close().catch(() => {});
      await rm(partial, { force: true });
    }
  }
}

interface ChunkPlace {
  path: string;
  index: number;
  count: number;
  chunk: ChunkRef;
}

function describe(w: ChunkPlace): string {
  return `${w.path}: chunk ${w.index + 1} of ${w.count} (blob ${w.chunk.blobKey}, expected sha256 ${w.chunk.sha256}, ${w.chunk.size} bytes)`;
}

/** Streams one chunk through its codec and its checks into `write`; returns its size. */
async function appendChunk(store: Pick<BlobStore, 'getStream'>, w: ChunkPlace, whole: Hash, write: (buf: Buffer) => Promise<void>): Promise<number> {
  const details = { path: w.path, chunkIndex: w.index, blobKey: w.chunk.blobKey, expectedSha256: w.chunk.sha256 };
  let raw: Readable;
  try {
    raw = await store.getStream(w.chunk.blobKey);
  } catch (err) {
    if (isAppError(err, 'OBJECT_NOT_FOUND')) {
      throw new AppError('OBJECT_NOT_FOUND', `${describe(w)}: the blob is missing from the bucket. Push the snapshot again from its workspace (a new push stores the chunks the bucket lacks).`, {
        cause: err,
        details,
      });
    }
    throw err;
  }
  const decompress = createDecompressStream(w.chunk.codec);
  let rawError: unknown = null;
  let codecError: unknown = null;
  decompress.on('error', (err) => {
    if (err !== rawError) codecError = err;
  });
  raw.on('error', (err) => {
    rawError = err; // the download's own failure (transient or not), not the blob's content
    decompress.destroy(err);
  });
  raw.pipe(decompress);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const buf of decompress as AsyncIterable<Buffer>) {
      size += buf.length;
      // cut off as soon as it expands past its declared size, whatever its own header claims
      if (size > w.chunk.size) {
        throw new AppError('CHECKSUM_MISMATCH', `${describe(w)}: expands to more than the ${w.chunk.size} bytes the manifest records. The blob does not match its snapshot (damaged or replaced); delete the object and push the snapshot again from its workspace.`, { details });
      }
      hash.update(buf);
      whole.update(buf);
      await write(buf);
    }
  } catch (err) {
    raw.destroy();
    decompress.destroy();
    if (isAppError(err) || (rawError !== null && err === rawError)) throw err;
    const message = errorMessage(err);
    // what the decompressor itself refused (not the download, not the disk) is the blob's fault
    if (err === codecError) {
      throw new AppError(
        'BLOB_CORRUPT',
        `${describe(w)}: expected a complete ${w.chunk.codec} stream, got ${/unexpected end|truncated|ended in (the )?middle/i.test(message) ? 'a truncated one' : `bytes that are not valid ${w.chunk.codec}`} (${message}). The object is damaged; push the snapshot again from its workspace (a new push re-uploads a missing blob after the damaged one is deleted).`,
        { cause: err, details },
      );
    }
    throw err;
  }
  const digest = hash.digest('hex');
  if (size !== w.chunk.size || digest !== w.chunk.sha256) {
    throw new AppError(
      'CHECKSUM_MISMATCH',
      `${describe(w)}: got ${size !== w.chunk.size ? `${size} bytes` : `sha256 ${digest}`}. The blob does not match its snapshot (damaged or replaced); delete the object and push the snapshot again from its workspace.`,
      { details },
    );
  }
  return size;
}
