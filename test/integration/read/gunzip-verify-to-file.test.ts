import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { gunzipVerifyToFile } from '../../../functions/loader/read/gunzip-verify-to-file.js';

const dir = mkdtempSync(join(tmpdir(), 'aqe-gunzip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const content = Buffer.from('SQLite format 3\u0000'.padEnd(200_000, 'x'));
const sha = createHash('sha256').update(content).digest('hex');
const gz = gzipSync(content);
const key = `blobs/sha256/${sha.slice(0, 2)}/${sha}.gz`;

describe('gunzipVerifyToFile', () => {
  it('writes the file when hash and size match', async () => {
    const out = join(dir, 'ok.db');
    await gunzipVerifyToFile(Readable.from([gz]), sha, content.length, out, key);
    expect(readFileSync(out).equals(content)).toBe(true);
  });

  it('throws CHECKSUM_MISMATCH naming the blob and leaves no file', async () => {
    const out = join(dir, 'bad.db');
    await expect(gunzipVerifyToFile(Readable.from([gz]), 'f'.repeat(64), content.length, out, key)).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringContaining(`blob ${key}: expected the uncompressed content recorded in the manifest, got sha256`),
    });
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('stops at the expected size (no gzip bomb)', async () => {
    await expect(gunzipVerifyToFile(Readable.from([gz]), sha, 1000, join(dir, 'small.db'), key)).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH', message: expect.stringMatching(/more than the 1000 bytes/) });
  });

  it('throws BLOB_CORRUPT for a truncated gzip stream', async () => {
    await expect(gunzipVerifyToFile(Readable.from([gz.subarray(0, gz.length - 100)]), sha, content.length, join(dir, 'trunc.db'), key)).rejects.toMatchObject({
      code: 'BLOB_CORRUPT',
      message: expect.stringMatching(/expected a complete gzip stream, got a truncated one/),
    });
  });

  it('throws BLOB_CORRUPT for bytes that are not gzip', async () => {
    await expect(gunzipVerifyToFile(Readable.from([content]), sha, content.length, join(dir, 'raw.db'), key)).rejects.toMatchObject({ code: 'BLOB_CORRUPT' });
  });
});
