// What a reader of a bucket the uploader wrote can see, checked against the push contract: every
// visible object is a complete blob (its decompressed bytes, gzip or zstd as its key says, hash to
// the sha256 in its key) or a manifest that parses and whose every blob (each chunk of each file)
// is there with the recorded sha256, size and stored size, and whose chunks add up to the file. Anything else visible (a temp file, a torn object) is a violation. Works on any BlobStore.

import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createDecompressStream } from '../../../../functions/storage/blob-codec.js';
import type { BlobStore, ObjectInfo } from '../../../../functions/storage/blob-store.js';
import { LOCAL_STORE_HIDDEN_DIR } from '../../../../functions/storage/local-dir-blob-store.js';
import { parseManifest, sourceChunks } from '../../../../schema/snapshot/manifest.js';
import { blobKey, parseBlobKey, parseBlobKeyParts, parseManifestKey } from '../../../../schema/snapshot/object-keys.js';

export interface BucketAudit {
  objects: number;
  /** Visible manifest keys, in key order. */
  manifests: string[];
  /** Visible blob keys, in key order. */
  blobs: string[];
  /** Every way the bucket breaks the contract (empty when it holds). */
  violations: string[];
}

interface VerifiedBlob {
  /** sha256 of the decompressed content, or null when it is not a complete stream of its codec. */
  sha256: string | null;
  size: number;
  storedSize: number;
  /** The decompressed content (campaign buckets are small), to check that chunks assemble to their file. */
  bytes?: Buffer;
  problem?: string;
}

/**
 * Audits a bucket; blobs already verified (same key, generation and size: objects are immutable)
 * are not read again, so auditing after every step of a long fault run stays cheap.
 * @example const audit = await new BucketAuditor(store).audit(); expect(audit.violations).toEqual([]);
 */
export class BucketAuditor {
  private readonly verified = new Map<string, VerifiedBlob>();

  constructor(private readonly store: BlobStore) {}

  async audit(): Promise<BucketAudit> {
    const listed: ObjectInfo[] = [];
    for await (const info of this.store.list('')) listed.push(info);
    const violations: string[] = [];
    const blobs = new Map<string, VerifiedBlob>();
    const manifests: string[] = [];
    for (const info of listed) {
      if (parseBlobKey(info.key) !== null) {
        const blob = await this.verify(info);
        blobs.set(info.key, blob);
        if (blob.problem !== undefined) violations.push(`blob ${info.key}: ${blob.problem}`);
        else if (blob.sha256 !== parseBlobKey(info.key)) violations.push(`blob ${info.key}: its content hashes to ${blob.sha256} (a partial or wrong object at the final name)`);
      } else if (parseManifestKey(info.key)?.prefix === '') {
        manifests.push(info.key);
      } else {
        violations.push(`object ${info.key} (${info.size} bytes) is neither a blob nor a manifest: a temp or stray file is visible`);
      }
    }
    for (const key of manifests) {
      const parts = parseManifestKey(key)!;
      const parsed = parseManifest(await this.store.get(key));
      if (!parsed.ok) {
        violations.push(`manifest ${key} does not parse (torn?): ${parsed.issues.slice(0, 3).join('; ')}`);
        continue;
      }
      const m = parsed.manifest;
      if (m.env !== parts.env || m.snapshotId !== parts.snapshotId) violations.push(`manifest ${key} names env "${m.env}" snapshot "${m.snapshotId}"`);
      for (const s of m.sources) {
        if (s.status !== 'captured') continue;
        const where = `manifest ${key}, source ${s.path}`;
        const chunks = sourceChunks(s);
        const whole = createHash('sha256');
        let complete = true;
        for (const [i, c] of chunks.entries()) {
          const at = `${where}, chunk ${i}`;
          if (c.blobKey !== blobKey(c.sha256, c.codec)) violations.push(`${at}: blob key ${c.blobKey} does not name its sha256 ${c.sha256} and codec ${c.codec}`);
          const blob = blobs.get(c.blobKey);
          complete &&= blob?.bytes !== undefined;
          if (blob?.bytes) whole.update(blob.bytes);
          if (blob === undefined) violations.push(`${at}: blob ${c.blobKey} is missing`);
          else if (blob.sha256 !== c.sha256) violations.push(`${at}: blob ${c.blobKey} hashes to ${blob.sha256 ?? '(unreadable)'}, not ${c.sha256}`);
          else if (blob.size !== c.size || blob.storedSize !== c.storedSize) {
            violations.push(`${at}: blob ${c.blobKey} holds ${blob.size} bytes (${blob.storedSize} stored), the manifest says ${c.size} (${c.storedSize} stored)`);
          }
        }
        const storedSum = chunks.reduce((a, c) => a + c.storedSize, 0);
        if (storedSum !== s.storedSize) violations.push(`${where}: the chunks are stored in ${storedSum} bytes, the manifest says ${s.storedSize}`);
        if (complete && whole.digest('hex') !== s.sha256) violations.push(`${where}: the chunks assemble to another file than sha256 ${s.sha256}`);
      }
    }
    return { objects: listed.length, manifests, blobs: [...blobs.keys()], violations };
  }

  private async verify(info: ObjectInfo): Promise<VerifiedBlob> {
    const id = `${info.key}@${info.generation ?? ''}:${info.size}`;
    const known = this.verified.get(id);
    if (known) return known;
    const hash = createHash('sha256');
    let size = 0;
    let result: VerifiedBlob;
    try {
      const decompress = createDecompressStream(parseBlobKeyParts(info.key)!.codec);
      (await this.store.getStream(info.key)).once('error', (err) => decompress.destroy(err)).pipe(decompress);
      const parts: Buffer[] = [];
      for await (const chunk of decompress) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).length;
        parts.push(chunk as Buffer);
      }
      result = { sha256: hash.digest('hex'), size, storedSize: info.size, bytes: Buffer.concat(parts) };
    } catch (err) {
      result = { sha256: null, size, storedSize: info.size, problem: `not a complete ${parseBlobKeyParts(info.key)!.codec} stream (${(err as Error).message})` };
    }
    this.verified.set(id, result);
    return result;
  }
}

/** Names of the temp files a local-dir store holds in its hidden folder (never visible as objects). */
export async function localTempFiles(root: string): Promise<string[]> {
  return readdir(join(root, LOCAL_STORE_HIDDEN_DIR, 'tmp')).catch(() => []);
}
