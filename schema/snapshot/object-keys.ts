// The bucket layout, in one place: every object key is built and parsed here (pure).
//   blobs/sha256/<2 hex>/<sha256>.{gz,zst}           content-addressed (sha256 of the uncompressed
//                                                    bytes), the extension names the codec; create-only
//   snapshots/<env>/<snapshotId>/manifest.json        written last: its arrival commits the snapshot
//   quarantine/<env>/<snapshotId>/{manifest.json,error.json}

import { ENV_NAME_PATTERN } from '../sources/catalogue.js';

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** ULID: 26 Crockford base32 characters; sorts by time. */
export const SNAPSHOT_ID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export const BLOB_PREFIX = 'blobs/sha256/';
export const SNAPSHOT_PREFIX = 'snapshots/';
export const QUARANTINE_PREFIX = 'quarantine/';

/** How a blob's bytes are compressed. gzip is what every version reads; zstd is faster. */
export const BLOB_CODECS = ['gzip', 'zstd'] as const;
export type BlobCodec = (typeof BLOB_CODECS)[number];

const CODEC_EXTENSION: Record<BlobCodec, string> = { gzip: 'gz', zstd: 'zst' };

/**
 * Key of the blob holding, compressed with `codec`, the uncompressed content whose sha256 is `sha256`.
 * @example blobKey('ab…', 'zstd') // "blobs/sha256/ab/ab….zst"
 */
export function blobKey(sha256: string, codec: BlobCodec = 'gzip'): string {
  if (!SHA256_HEX.test(sha256)) throw new TypeError(`blobKey: expected 64 lowercase hex characters, got "${sha256}"`);
  const ext = CODEC_EXTENSION[codec];
  if (ext === undefined) throw new TypeError(`blobKey: unknown codec "${String(codec)}"`);
  return `${BLOB_PREFIX}${sha256.slice(0, 2)}/${sha256}.${ext}`;
}

/** The sha256 and codec a blob key names, or null when `key` is not a blob key. */
export function parseBlobKeyParts(key: string): { sha256: string; codec: BlobCodec } | null {
  const m = /^blobs\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})\.(gz|zst)$/.exec(key);
  if (!m || !m[2]!.startsWith(m[1]!)) return null;
  return { sha256: m[2]!, codec: m[3] === 'gz' ? 'gzip' : 'zstd' };
}

/** The sha256 a blob key names, or null when `key` is not a blob key. */
export function parseBlobKey(key: string): string | null {
  return parseBlobKeyParts(key)?.sha256 ?? null;
}

/** Key of a snapshot's manifest. */
export function manifestKey(env: string, snapshotId: string): string {
  if (!ENV_NAME_PATTERN.test(env)) throw new TypeError(`manifestKey: invalid environment name "${env}"`);
  if (!SNAPSHOT_ID_PATTERN.test(snapshotId)) throw new TypeError(`manifestKey: invalid snapshot id "${snapshotId}"`);
  return `${SNAPSHOT_PREFIX}${env}/${snapshotId}/manifest.json`;
}

/** Prefix under which one environment's manifests live. */
export function envSnapshotPrefix(env: string): string {
  return `${SNAPSHOT_PREFIX}${env}/`;
}

export interface ManifestKeyParts {
  env: string;
  snapshotId: string;
  /** Anything before `snapshots/` (a bucket prefix), without trailing slash; '' when none. */
  prefix: string;
}

/**
 * Parses a manifest object key, with or without a bucket prefix before `snapshots/`.
 * Returns null for any other object (blobs, quarantine, stray files), which callers ignore.
 */
export function parseManifestKey(key: string): ManifestKeyParts | null {
  const m = /^(?:(.*)\/)?snapshots\/([^/]+)\/([^/]+)\/manifest\.json$/.exec(key);
  if (!m) return null;
  const [, prefix = '', env = '', snapshotId = ''] = m;
  // "/snapshots/…" or "a//snapshots/…" name other objects than the key they would rebuild as
  if (m[1] !== undefined && prefix.split('/').some((segment) => segment === '')) return null;
  if (!ENV_NAME_PATTERN.test(env) || !SNAPSHOT_ID_PATTERN.test(snapshotId)) return null;
  if (prefix.split('/').includes('quarantine')) return null;
  return { env, snapshotId, prefix };
}

/** Where a quarantined snapshot's manifest copy goes. */
export function quarantineManifestKey(env: string, snapshotId: string): string {
  return `${QUARANTINE_PREFIX}${env}/${snapshotId}/manifest.json`;
}

/** Where a quarantined snapshot's error report goes. */
export function quarantineReportKey(env: string, snapshotId: string): string {
  return `${QUARANTINE_PREFIX}${env}/${snapshotId}/error.json`;
}
