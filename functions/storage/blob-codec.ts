// Blob codecs: zstd where this process has it (Node's own zlib from Node 22.15, else the zstd-napi
// binding), gzip otherwise; gzip is always readable. Compression is whole-buffer (chunks are at
// most a few MiB, compressed on worker threads); decompression is a stream, so a blob is cut off
// as soon as it expands past its declared size, whatever it claims in its own header.

import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { AppError } from '../../schema/errors.js';
import type { BlobCodec } from '../../schema/snapshot/object-keys.js';

/** zstd level: 3 is zstd's default (faster than gzip -1, smaller than gzip -6 on our sources). */
export const ZSTD_LEVEL = 3;
/** gzip level when zstd is not available (what every earlier version wrote). */
export const GZIP_LEVEL = 6;

/** The zlib zstd functions of Node ≥ 22.15 (absent from @types/node 20, hence looked up). */
interface ZlibZstd {
  zstdCompressSync(buf: Uint8Array, options?: { params?: Record<number, number> }): Buffer;
  createZstdDecompress(): Transform;
  constants: Record<string, number>;
}

interface ZstdNapi {
  compress(data: Uint8Array, parameters?: { compressionLevel?: number }): Buffer;
  DecompressStream: new () => Transform;
}

let napi: ZstdNapi | null | undefined;

function zlibZstd(): ZlibZstd | null {
  const z = zlib as unknown as Partial<ZlibZstd>;
  return typeof z.zstdCompressSync === 'function' && typeof z.createZstdDecompress === 'function' && z.constants?.['ZSTD_c_compressionLevel'] !== undefined ? (z as ZlibZstd) : null;
}

function zstdNapi(): ZstdNapi | null {
  if (napi === undefined) {
    try {
      napi = createRequire(import.meta.url)('zstd-napi') as ZstdNapi;
    } catch {
      napi = null; // not installed or not built for this platform: gzip then
    }
  }
  return napi;
}

/** Where zstd comes from in this process, or null when it has none. */
export function zstdProvider(): 'node:zlib' | 'zstd-napi' | null {
  if (zlibZstd()) return 'node:zlib';
  return zstdNapi() ? 'zstd-napi' : null;
}

/** The codec a push uses: zstd when this process has it, else gzip. */
export function preferredCodec(): BlobCodec {
  return zstdProvider() === null ? 'gzip' : 'zstd';
}

/**
 * Compresses `data` whole with `codec` (synchronous: call it on a worker thread for large data).
 * @example compressSync(chunk, preferredCodec())
 */
export function compressSync(data: Uint8Array, codec: BlobCodec): Buffer {
  if (codec === 'gzip') return zlib.gzipSync(data, { level: GZIP_LEVEL });
  const z = zlibZstd();
  if (z) return z.zstdCompressSync(data, { params: { [z.constants['ZSTD_c_compressionLevel']!]: ZSTD_LEVEL } });
  const n = zstdNapi();
  if (n) return n.compress(data, { compressionLevel: ZSTD_LEVEL });
  throw unavailable();
}

/**
 * A stream that decompresses `codec`. Throws CODEC_UNAVAILABLE (terminal, not the snapshot's
 * fault: nothing is quarantined) when this process cannot read zstd.
 */
export function createDecompressStream(codec: BlobCodec): Transform {
  if (codec === 'gzip') return zlib.createGunzip();
  const z = zlibZstd();
  if (z) return z.createZstdDecompress();
  const n = zstdNapi();
  if (n) return new n.DecompressStream();
  throw unavailable();
}

/** The content type a blob of `codec` is stored with. */
export function codecContentType(codec: BlobCodec): string {
  return codec === 'gzip' ? 'application/gzip' : 'application/zstd';
}

function unavailable(): AppError {
  return new AppError(
    'CODEC_UNAVAILABLE',
    `this process cannot read or write zstd blobs: Node ${process.versions.node} has no zlib zstd (Node 22.15 and later do) and the zstd-napi binding did not load. Run the loader on Node >= 22.15, or reinstall with the zstd-napi dependency built (npm ci)`,
  );
}
