import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkCutter, type ChunkerSettings, readChunk, scanFile } from './content-chunks.js';

const SMALL: ChunkerSettings = { minSize: 2048, avgSize: 4096, maxSize: 16384 };

/** Deterministic bytes that do not repeat (xorshift). */
function noise(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function cutsOf(data: Uint8Array, blockSize: number, settings = SMALL): number[] {
  const cutter = new ChunkCutter(settings);
  const cuts: number[] = [];
  for (let at = 0; at < data.length; at += blockSize) for (const end of cutter.push(data.subarray(at, at + blockSize))) cuts.push(at + end);
  return cuts;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aqe-chunks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ChunkCutter', () => {
  it('cuts at the same points however the input is split into blocks, within the size bounds', () => {
    const data = noise(400_000, 7);
    const whole = cutsOf(data, data.length);
    expect(cutsOf(data, 1)).toEqual(whole);
    expect(cutsOf(data, 4093)).toEqual(whole);
    const sizes = whole.map((end, i) => end - (i === 0 ? 0 : whole[i - 1]!));
    expect(sizes.length).toBeGreaterThan(40);
    for (const size of sizes) {
      expect(size).toBeGreaterThanOrEqual(SMALL.minSize);
      expect(size).toBeLessThanOrEqual(SMALL.maxSize);
    }
    const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
    expect(mean).toBeGreaterThan(SMALL.avgSize * 0.6);
    expect(mean).toBeLessThan(SMALL.avgSize * 2);
  });

  it('keeps the cut points after an edit: only the chunks around the changed bytes differ', () => {
    const data = noise(400_000, 11);
    const edited = Buffer.from(data);
    edited.write('one row changed', 200_000);
    const a = new Set(cutsOf(data, 65536));
    const b = cutsOf(edited, 65536);
    const moved = b.filter((c) => !a.has(c));
    expect(moved.length).toBeLessThanOrEqual(1);
    // an insertion shifts the later cut points by its length, and keeps them content-defined
    const inserted = Buffer.concat([data.subarray(0, 100_000), Buffer.from('inserted bytes'), data.subarray(100_000)]);
    const shifted = new Set(cutsOf(inserted, 65536).map((c) => (c > 100_000 ? c - 14 : c)));
    expect([...a].filter((c) => !shifted.has(c)).length).toBeLessThanOrEqual(2);
  });

  it('cuts a run of identical bytes at maxSize', () => {
    expect(cutsOf(Buffer.alloc(50_000), 50_000)).toEqual([16384, 32768, 49152]);
  });
});

describe('scanFile', () => {
  it('reads a file once for its sha256 and its chunks, whose bytes and hashes readChunk gives back', async () => {
    const data = noise(300_000, 3);
    const path = join(dir, 'large.bin');
    await writeFile(path, data);
    const scan = await scanFile(path, SMALL, 16384);
    expect(scan.sha256).toBe(createHash('sha256').update(data).digest('hex'));
    expect(scan.size).toBe(data.length);
    expect(scan.chunks.map((c) => c.offset + c.size)).toEqual([...cutsOf(data, data.length), data.length].filter((v, i, all) => all.indexOf(v) === i));
    for (const c of scan.chunks) {
      const bytes = await readChunk(path, c);
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(c.sha256);
      expect(bytes.equals(data.subarray(c.offset, c.offset + c.size))).toBe(true);
    }
    await expect(readChunk(path, { offset: data.length - 10, size: 20 })).rejects.toThrow(/inside a chunk/);
  });

  it('gives a file up to the whole-file size (even an empty one) one chunk: the file itself', async () => {
    const path = join(dir, 'small.json');
    await writeFile(path, '{"a":1}');
    const scan = await scanFile(path, SMALL, 16384);
    expect(scan.chunks).toEqual([{ offset: 0, size: 7, sha256: scan.sha256 }]);
    await writeFile(path, '');
    const empty = await scanFile(path, SMALL, 16384);
    expect(empty.chunks).toEqual([{ offset: 0, size: 0, sha256: createHash('sha256').digest('hex') }]);
  });
});
