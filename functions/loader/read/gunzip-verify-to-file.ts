// Materialises a snapshot blob: streams gunzip → sha256 + size check → file, so a damaged or
// substituted blob never reaches a reader. The file appears only when everything matched.

import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { AppError, errorMessage } from '../../../schema/errors.js';

/**
 * Gunzips `stream` into `outFile`, checking the uncompressed bytes against `expectedSha256` and
 * `expectedSize` (from the manifest). Throws CHECKSUM_MISMATCH (wrong hash or size; the output
 * is cut off as soon as it exceeds the expected size) or BLOB_CORRUPT (not gzip, truncated),
 * naming `blobKey`. Writes to `<outFile>.partial` and renames on success.
 *
 * @example
 * await gunzipVerifyToFile(await store.getStream(src.blobKey), src.sha256, src.size, '/tmp/run/v3-memory.db', src.blobKey);
 */
export async function gunzipVerifyToFile(stream: Readable, expectedSha256: string, expectedSize: number, outFile: string, blobKey = outFile): Promise<void> {
  const hash = createHash('sha256');
  let size = 0;
  let oversize = false;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > expectedSize) {
        oversize = true;
        done(new Error('larger than expected'));
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  const partial = `${outFile}.partial`;
  try {
    await pipeline(stream, createGunzip(), check, createWriteStream(partial));
  } catch (err) {
    await rm(partial, { force: true });
    if (oversize) throw mismatch(blobKey, `more than the ${expectedSize} bytes the manifest records`);
    if (err instanceof AppError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || /unexpected end of file|incorrect header check|invalid/i.test(errorMessage(err))) {
      throw new AppError(
        'BLOB_CORRUPT',
        `blob ${blobKey}: expected a complete gzip stream, got ${/unexpected end/i.test(errorMessage(err)) ? 'a truncated one' : 'bytes that are not valid gzip'} (${errorMessage(err)}). The object is damaged; push the snapshot again from its workspace (a new push re-uploads a missing blob after the damaged one is deleted).`,
        { cause: err, details: { blobKey } },
      );
    }
    throw err;
  }
  const digest = hash.digest('hex');
  if (size !== expectedSize || digest !== expectedSha256) {
    await rm(partial, { force: true });
    throw mismatch(blobKey, size !== expectedSize ? `${size} bytes instead of ${expectedSize}` : `sha256 ${digest} instead of ${expectedSha256}`);
  }
  await rename(partial, outFile);
}

function mismatch(blobKey: string, got: string): AppError {
  return new AppError(
    'CHECKSUM_MISMATCH',
    `blob ${blobKey}: expected the uncompressed content recorded in the manifest, got ${got}. The blob does not match its snapshot (damaged or replaced); delete the object and push the snapshot again from its workspace.`,
    { details: { blobKey } },
  );
}
