// Content-defined chunking of a snapshot file (FastCDC: Xia et al., "FastCDC: a Fast and Efficient
// Content-Defined Chunking Approach for Data Deduplication", USENIX ATC 2016, with its normalized
// chunking): the cut points come from the bytes (a Gear rolling hash over the last 32 bytes), so a
// change in one place of a large file changes the one or two chunks around it and every other
// chunk keeps its bytes, its sha256 and its stored blob. Files up to WHOLE_FILE_MAX_BYTES stay
// one chunk (one blob, as before chunking).
//
// One read pass gives everything the push needs: the whole file's sha256, the cut points and each
// chunk's sha256 (scanFile). No chunk is held in memory: the bytes of a chunk that has to be
// stored are read again from the snapshot file by offset (readChunk), as soon as it is cut.
//
// Why not rabin-rs (the IPFS Rabin chunker in wasm, used before): it cut ~80 MB/s here, the
// slowest step of a push; the Gear loop skips the first minSize bytes of every chunk and runs in
// plain JavaScript at several hundred MB/s. The npm registry holds no maintained FastCDC package.
// The loader does not care how a file was cut (the manifest lists the chunks), so changing the
// chunker changes no format: each chunk is new once, then deduplicated again.

import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/** How a file is cut. Changing any of these (or GEAR) changes every cut point (every chunk is new once). */
export interface ChunkerSettings {
  /** No chunk is smaller (except a file's last): its first minSize bytes are not even hashed. */
  minSize: number;
  /** Normal chunk size: below it a cut is harder to find, above it easier (normalized chunking). */
  avgSize: number;
  /** No chunk is larger. */
  maxSize: number;
}

/** ~1 MiB chunks, 512 KiB to 4 MiB. */
export const CHUNKING: Readonly<ChunkerSettings> = Object.freeze({ minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 });

/** Files up to this size are one chunk (one blob). */
export const WHOLE_FILE_MAX_BYTES = CHUNKING.maxSize;

/** Bytes read at once by scanFile. */
const READ_BYTES = 4 * 1024 * 1024;

/**
 * The Gear table: 256 fixed pseudo-random 32-bit values, derived from sha256 so they never depend
 * on a platform's random numbers. Part of the chunking: changing it moves every cut point.
 */
const GEAR: Int32Array = (() => {
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = createHash('sha256').update(`aqe-cloud-sync gear ${i}`).digest().readInt32BE(0);
  return table;
})();

/** A mask of `bits` one-bits at the top of a 32-bit word: the top bits of a Gear hash depend on the last 32 bytes. */
function topMask(bits: number): number {
  return (((2 ** bits - 1) * 2 ** (32 - bits)) | 0);
}

/**
 * Finds cut points in a stream of blocks. `push` returns the cut points inside the block given
 * (offsets just past a chunk's last byte); the cut points depend only on the bytes, never on how
 * the input was split into blocks. After the last block the rest (if any) is the last chunk.
 * @example const cutter = new ChunkCutter(); for (const block of blocks) for (const end of cutter.push(block)) …
 */
export class ChunkCutter {
  private readonly min: number;
  private readonly avg: number;
  private readonly max: number;
  private readonly maskSmall: number;
  private readonly maskLarge: number;
  /** Bytes of the current chunk seen so far. */
  private length = 0;
  private hash = 0;

  constructor(settings: ChunkerSettings = CHUNKING) {
    if (!(settings.minSize > 0 && settings.minSize <= settings.avgSize && settings.avgSize <= settings.maxSize)) throw new Error(`chunker settings out of order: ${JSON.stringify(settings)}`);
    this.min = settings.minSize;
    this.avg = settings.avgSize;
    this.max = settings.maxSize;
    // normalized chunking, level 2: two bits harder than the average below it, two easier above
    const bits = Math.max(1, Math.round(Math.log2(Math.max(2, settings.avgSize - settings.minSize))));
    this.maskSmall = topMask(Math.min(31, bits + 2));
    this.maskLarge = topMask(Math.max(1, bits - 2));
  }

  push(block: Uint8Array): number[] {
    const cuts: number[] = [];
    const n = block.length;
    const gear = GEAR;
    let i = 0;
    while (i < n) {
      if (this.length < this.min) {
        const skip = Math.min(this.min - this.length, n - i);
        i += skip;
        this.length += skip;
        continue;
      }
      const small = this.length < this.avg;
      const mask = small ? this.maskSmall : this.maskLarge;
      const stop = Math.min(n, i + ((small ? this.avg : this.max) - this.length));
      let h = this.hash;
      let j = i;
      let found = -1;
      for (; j < stop; j++) {
        h = ((h << 1) + gear[block[j]!]!) | 0;
        if ((h & mask) === 0) {
          found = j + 1;
          break;
        }
      }
      if (found >= 0) {
        cuts.push(found);
        i = found;
        this.length = 0;
        this.hash = 0;
        continue;
      }
      this.length += stop - i;
      this.hash = h;
      i = stop;
      if (this.length >= this.max) {
        cuts.push(i);
        this.length = 0;
        this.hash = 0;
      }
    }
    return cuts;
  }
}

/** One chunk of a file: where it is, and its sha256. */
export interface ChunkSpan {
  offset: number;
  size: number;
  sha256: string;
}

/** A file read once: its size, sha256 and chunks in order (their sizes add up to the file's). */
export interface FileScan {
  size: number;
  sha256: string;
  chunks: ChunkSpan[];
}

/**
 * Reads the file at `path` once: its sha256, and its content-defined chunks with their sha256
 * (a file of at most `wholeFileMax` bytes, even an empty one, is one chunk: its blob is the file's own).
 * @example const { sha256, chunks } = await scanFile('/tmp/aqe-upload-x/0.copy')
 */
export async function scanFile(
  path: string,
  settings: ChunkerSettings = CHUNKING,
  wholeFileMax = WHOLE_FILE_MAX_BYTES,
  /** Sees every block as it is read (e.g. a SQLite page census): one pass serves them all. */
  observe?: (block: Buffer, offset: number) => void,
  /**
   * Hears of each chunk as soon as it is cut, before the rest of the file is read (a push starts
   * storing it meanwhile: it reads the chunk back by offset); the scan waits while the returned
   * promise is pending (backpressure).
   */
  onChunk?: (chunk: ChunkSpan) => void | Promise<void>,
): Promise<FileScan> {
  const fh = await open(path, 'r');
  try {
    const whole = createHash('sha256');
    const size = (await fh.stat()).size;
    const chunked = size > wholeFileMax;
    const cutter = chunked ? new ChunkCutter(settings) : null;
    const chunks: ChunkSpan[] = [];
    let part = createHash('sha256');
    let start = 0;
    let at = 0;
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    for (;;) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, at);
      if (bytesRead === 0) break;
      const block = buffer.subarray(0, bytesRead);
      whole.update(block);
      observe?.(block, at);
      const cut: ChunkSpan[] = [];
      if (cutter !== null) {
        let from = 0;
        for (const end of cutter.push(block)) {
          part.update(block.subarray(from, end));
          cut.push({ offset: start, size: at + end - start, sha256: part.digest('hex') });
          part = createHash('sha256');
          start = at + end;
          from = end;
        }
        if (from < bytesRead) part.update(block.subarray(from));
      }
      at += bytesRead;
      for (const chunk of cut) {
        chunks.push(chunk);
        await onChunk?.(chunk);
      }
    }
    const sha256 = whole.digest('hex');
    const last = cutter === null ? { offset: 0, size: at, sha256 } : at > start ? { offset: start, size: at - start, sha256: part.digest('hex') } : null;
    if (last !== null) {
      chunks.push(last);
      await onChunk?.(last);
    }
    return { size: at, sha256, chunks };
  } finally {
    await fh.close();
  }
}

/**
 * The bytes of one chunk of a file, in a Buffer of their own (safe to move to a worker thread),
 * or in `into` (exactly the chunk's size). Fails when the file is shorter than the chunk says.
 */
export async function readChunk(path: string, span: Pick<ChunkSpan, 'offset' | 'size'>, into?: Buffer): Promise<Buffer> {
  if (into !== undefined && into.length !== span.size) throw new Error(`readChunk: a buffer of ${into.length} bytes for a chunk of ${span.size}`);
  const fh = await open(path, 'r');
  try {
    // not zero-filled: every byte is read into it (or it is not returned); its own memory, so it can be moved to a worker
    const out = into ?? Buffer.allocUnsafeSlow(span.size);
    let got = 0;
    while (got < span.size) {
      const { bytesRead } = await fh.read(out, got, span.size - got, span.offset + got);
      if (bytesRead === 0) throw new Error(`${path}: ended at ${span.offset + got} bytes, inside a chunk of ${span.size} bytes at ${span.offset}`);
      got += bytesRead;
    }
    return out;
  } finally {
    await fh.close();
  }
}
