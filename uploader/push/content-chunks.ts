// Content-defined chunking of a snapshot file: the cut points come from the bytes (a Rabin rolling
// hash, IPFS's chunker from rabin-rs), so a change in one place of a large file changes the one
// or two chunks around it and every other chunk keeps its bytes, its sha256 and its stored blob.
// Files up to WHOLE_FILE_MAX_BYTES stay one chunk (one blob, as before chunking).

import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { create, cut, type Rabin } from 'rabin-rs';

/** How a file is cut. Changing any of these changes every cut point (every chunk is new once). */
export interface ChunkerSettings {
  /** No chunk is smaller (except a file's last). */
  minSize: number;
  /** No chunk is larger. */
  maxSize: number;
  /** A cut is made where the low `bits` bits of the rolling hash are zero: ~2^bits past minSize on average. */
  bits: number;
  /** Bytes the rolling hash looks at. */
  windowSize: number;
}

/** ~1 MiB chunks on average (512 KiB + 2^19), 512 KiB to 4 MiB. */
export const CHUNKING: Readonly<ChunkerSettings> = Object.freeze({ minSize: 512 * 1024, maxSize: 4 * 1024 * 1024, bits: 19, windowSize: 64 });

/** Files up to this size are one chunk (one blob). */
export const WHOLE_FILE_MAX_BYTES = CHUNKING.maxSize;

/** Bytes handed to the rolling hash at once (fewer calls into wasm; the tail is scanned again). */
const FEED_BYTES = 8 * 1024 * 1024;

const chunkers = new Map<string, Promise<Rabin>>();

function chunker(settings: ChunkerSettings): Promise<Rabin> {
  const key = `${settings.bits}/${settings.minSize}/${settings.maxSize}/${settings.windowSize}`;
  let c = chunkers.get(key);
  if (c === undefined) {
    c = Promise.resolve(create(settings.bits, settings.minSize, settings.maxSize, settings.windowSize));
    chunkers.set(key, c);
  }
  return c;
}

/**
 * The chunks of a byte stream, in order, each a Buffer of its own (safe to transfer to a worker).
 * Their concatenation is the input; the cut points depend only on the bytes, never on how the
 * input was split into reads.
 * @example for await (const chunk of contentChunks(createReadStream(path))) …
 */
export async function* contentChunks(input: AsyncIterable<Uint8Array>, settings: ChunkerSettings = CHUNKING): AsyncGenerator<Buffer> {
  const rabin = await chunker(settings);
  let pending: Buffer = Buffer.alloc(0);
  const emit = function* (end: boolean): Generator<Buffer> {
    const lengths = cut(rabin, pending, end);
    let at = 0;
    for (const length of lengths) {
      yield Buffer.from(pending.subarray(at, at + length)); // a copy: the chunk owns its memory
      at += length;
    }
    pending = pending.subarray(at);
  };
  const parts: Uint8Array[] = [pending];
  let held = 0;
  for await (const block of input) {
    parts.push(block);
    held += block.byteLength;
    if (held >= FEED_BYTES) {
      pending = Buffer.concat(parts);
      parts.length = 0;
      yield* emit(false);
      parts.push(pending);
      held = pending.byteLength;
    }
  }
  pending = Buffer.concat(parts);
  if (pending.byteLength > 0) yield* emit(true);
}

/**
 * The chunks of a file (see contentChunks), read 4 MiB at a time; a file of at most
 * `wholeFileMax` bytes is one chunk (its blob is the file's own, as before chunking).
 */
export async function* fileChunks(path: string, settings: ChunkerSettings = CHUNKING, wholeFileMax = WHOLE_FILE_MAX_BYTES): AsyncGenerator<Buffer> {
  const size = (await stat(path)).size;
  if (size <= wholeFileMax) {
    yield await readFile(path);
    return;
  }
  yield* contentChunks(createReadStream(path, { highWaterMark: 4 * 1024 * 1024 }), settings);
}
