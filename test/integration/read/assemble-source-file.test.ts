// One format-1 source (a single gzip blob for the whole file, as every manifest before chunking
// has it) through the loader's assembler: the file appears only when size and sha256 match, a
// stream longer than declared is cut off (no gzip bomb), damaged gzip is BLOB_CORRUPT.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { assembleSourceFile } from '../../../functions/loader/read/assemble-source-file.js';
import type { CapturedSource } from '../../../schema/snapshot/manifest.js';

const dir = mkdtempSync(join(tmpdir(), 'aqe-assemble-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const content = Buffer.from('SQLite format 3\u0000'.padEnd(200_000, 'x'));
const sha = createHash('sha256').update(content).digest('hex');
const gz = gzipSync(content);
const key = `blobs/sha256/${sha.slice(0, 2)}/${sha}.gz`;

/** A format-1 captured source whose blob holds `bytes`, declared with `sha256` and `size`. */
function formatOne(bytes: Buffer, declared: { sha256?: string; size?: number } = {}) {
  const source = { status: 'captured', sourceId: 'aqe-v3', path: 'v3/.agentic-qe/memory.db', sha256: declared.sha256 ?? sha, size: declared.size ?? content.length, storedSize: bytes.length, blobKey: key } as unknown as CapturedSource;
  const store = { getStream: async () => Readable.from([bytes]) };
  return { source, store };
}

describe('assembleSourceFile on a whole-file gzip blob (format 1)', () => {
  it('writes the file when hash and size match', async () => {
    const out = join(dir, 'ok.db');
    const { source, store } = formatOne(gz);
    await assembleSourceFile(store, source, out);
    expect(readFileSync(out).equals(content)).toBe(true);
  });

  it('throws CHECKSUM_MISMATCH naming the blob and leaves no file', async () => {
    const out = join(dir, 'bad.db');
    const { source, store } = formatOne(gz, { sha256: 'f'.repeat(64) });
    await expect(assembleSourceFile(store, source, out)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH', message: expect.stringContaining(key) });
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('stops at the declared size (no gzip bomb)', async () => {
    const out = join(dir, 'small.db');
    const { source, store } = formatOne(gz, { size: 1000 });
    await expect(assembleSourceFile(store, source, out)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect(existsSync(out)).toBe(false);
  });

  it('throws BLOB_CORRUPT for a truncated gzip stream', async () => {
    const { source, store } = formatOne(gz.subarray(0, gz.length - 100));
    await expect(assembleSourceFile(store, source, join(dir, 'trunc.db'))).rejects.toMatchObject({ code: 'BLOB_CORRUPT' });
  });

  it('throws BLOB_CORRUPT for bytes that are not gzip', async () => {
    const { source, store } = formatOne(content);
    await expect(assembleSourceFile(store, source, join(dir, 'raw.db'))).rejects.toMatchObject({ code: 'BLOB_CORRUPT' });
  });
});
