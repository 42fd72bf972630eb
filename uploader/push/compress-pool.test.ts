// The compression pool on real worker threads: chunk buffers lent with a chunk come back and are
// reused, and no chunk's compressed bytes ever come from another chunk's bytes, however many are
// in flight at once; a chunk that no longer has its sha256 is refused.
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer as collect } from 'node:stream/consumers';
import { afterEach, describe, expect, it } from 'vitest';
import { createDecompressStream, preferredCodec } from '../../functions/storage/blob-codec.js';
import { CompressPool } from './compress-pool.js';

const pools: CompressPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function roundTrip(pool: CompressPool, chunk: Buffer): Promise<{ back: Buffer }> {
  const codec = preferredCodec();
  const lent = pool.chunkBuffer(chunk.length);
  chunk.copy(lent);
  const sha256 = createHash('sha256').update(chunk).digest('hex');
  const compressed = await pool.compress(lent, codec, sha256);
  return { back: await collect(Readable.from([compressed]).pipe(createDecompressStream(codec))) };
}

describe('the compression pool', () => {
  for (const threads of [2, 0]) {
    it(`lends chunk buffers and takes them back, every chunk compressed from its own bytes (${threads} worker threads)`, async () => {
      const pool = new CompressPool(threads, 64 * 1024);
      pools.push(pool);
      const chunks = Array.from({ length: 24 }, (_, i) => randomBytes(1000 + i * 2000));
      // many in flight at once: a buffer given back too early would be overwritten by the next chunk
      const first = await Promise.all(chunks.map((c) => roundTrip(pool, c)));
      first.forEach((r, i) => expect(r.back.equals(chunks[i]!), `chunk ${i}`).toBe(true));
      const made = pool.buffersMade;
      expect(made).toBeLessThanOrEqual(chunks.length);
      // one at a time now: every chunk is read into a buffer that came back, none is made
      for (const [i, c] of chunks.entries()) {
        const r = await roundTrip(pool, c);
        expect(r.back.equals(c), `chunk ${i}, second round`).toBe(true);
      }
      expect(pool.buffersMade).toBe(made);
    });
  }

  it('refuses to compress a chunk whose bytes no longer have its sha256', async () => {
    const pool = new CompressPool(2, 64 * 1024);
    pools.push(pool);
    const lent = pool.chunkBuffer(4096);
    randomBytes(4096).copy(lent);
    await expect(pool.compress(lent, preferredCodec(), '0'.repeat(64))).rejects.toMatchObject({ code: 'SNAPSHOT_FAILED' });
  });
});
