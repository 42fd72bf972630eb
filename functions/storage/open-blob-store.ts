// Bucket URLs → BlobStores: `gs://bucket[/prefix]` opens Cloud Storage, `file:///absolute/dir` a
// local directory. Parsing is pure and reports what was expected; opening loads the GCS client
// only when a gs:// URL asks for it.

import type { StorageOptions } from '@google-cloud/storage';
import { isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../schema/errors.js';
import type { BlobStore } from './blob-store.js';
import type { GcsRetryOptions } from './gcs-blob-store.js';
import { LocalDirBlobStore } from './local-dir-blob-store.js';

export type BucketLocation = { scheme: 'gs'; bucket: string; prefix: string } | { scheme: 'file'; dir: string };

const EXPECTED = 'expected gs://bucket[/prefix] or file:///absolute/dir';
const TRY = 'Try: aqe-upload push --bucket gs://my-bucket/aqe';

function invalid(url: string, problem: string): AppError {
  return new AppError('BUCKET_URL_INVALID', `bucket URL ${JSON.stringify(url)}: ${problem}; ${EXPECTED}\n${TRY}`, { details: { url } });
}

/**
 * The problem with a Cloud Storage bucket name, or null when it follows the naming rules:
 * 3–63 characters (up to 222 with dots, each dot-separated part ≤ 63), lowercase letters, digits,
 * `-`, `_` and `.`, starting and ending with a letter or digit, not an IP address, no `goog`
 * prefix and no `google`.
 */
export function bucketNameProblem(name: string): string | null {
  if (name.length < 3) return 'a bucket name has at least 3 characters';
  if (!/^[a-z0-9][a-z0-9._-]*[a-z0-9]$/.test(name)) {
    return 'a bucket name uses only lowercase letters, digits, "-", "_" and ".", and starts and ends with a letter or digit';
  }
  if (name.includes('.')) {
    if (name.length > 222) return 'a bucket name with dots has at most 222 characters';
    if (name.split('.').some((part) => part.length === 0 || part.length > 63)) return 'each dot-separated part of a bucket name has 1 to 63 characters';
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'a bucket name cannot be an IP address';
  } else if (name.length > 63) {
    return 'a bucket name has at most 63 characters';
  }
  if (name.startsWith('goog')) return 'a bucket name cannot start with "goog"';
  if (/g[o0]{2}gle/.test(name)) return 'a bucket name cannot contain "google"';
  return null;
}

/**
 * Parses a bucket URL. Throws AppError BUCKET_URL_INVALID saying what was expected.
 * @example parseBucketUrl('gs://my-bucket/aqe/') // { scheme: 'gs', bucket: 'my-bucket', prefix: 'aqe' }
 * @example parseBucketUrl('file:///var/lib/aqe') // { scheme: 'file', dir: '/var/lib/aqe' }
 */
export function parseBucketUrl(url: string): BucketLocation {
  const trimmed = url.trim();
  if (trimmed === '') throw invalid(url, 'empty');
  if (trimmed.startsWith('gs://')) {
    const rest = trimmed.slice('gs://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const rawPrefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (bucket === '') throw invalid(url, 'no bucket name after gs://');
    const problem = bucketNameProblem(bucket);
    if (problem !== null) throw invalid(url, `bucket "${bucket}": ${problem}`);
    const prefix = rawPrefix.replace(/\/+$/, '');
    if (prefix !== '') {
      const segments = prefix.split('/');
      if (segments.some((s) => s === '' || s === '.' || s === '..')) throw invalid(url, `prefix "${rawPrefix}" has an empty, "." or ".." segment`);
      if (/[\0\\?#*[\]]/.test(prefix)) throw invalid(url, `prefix "${rawPrefix}" contains a character not allowed in object names here (NUL, \\, ?, #, *, [, ])`);
    }
    return { scheme: 'gs', bucket, prefix };
  }
  if (trimmed.startsWith('file:')) {
    if (!trimmed.startsWith('file:///') && !trimmed.startsWith('file://localhost/')) {
      throw invalid(url, 'a file URL needs an absolute path (three slashes: file:///dir)');
    }
    let dir: string;
    try {
      dir = fileURLToPath(trimmed);
    } catch (err) {
      throw new AppError('BUCKET_URL_INVALID', `bucket URL ${JSON.stringify(url)}: not a valid file URL; ${EXPECTED}\n${TRY}`, { cause: err });
    }
    if (!isAbsolute(dir)) throw invalid(url, 'the directory must be absolute');
    if (dir.length > 1) dir = dir.replace(/\/+$/, '');
    return { scheme: 'file', dir };
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(trimmed)?.[1];
  if (scheme !== undefined) throw invalid(url, `unsupported scheme "${scheme}:"`);
  if (isAbsolute(trimmed)) throw invalid(url, `a plain path is not a URL (did you mean file://${trimmed}?)`);
  throw invalid(url, 'not a URL');
}

export interface OpenBlobStoreOptions {
  /** Passed to the `@google-cloud/storage` client (default: Application Default Credentials). */
  gcs?: StorageOptions;
  /** Retry budget for Cloud Storage calls. */
  gcsRetry?: GcsRetryOptions;
}

/**
 * Opens the BlobStore a bucket URL names. No I/O beyond loading the GCS client for gs:// URLs;
 * call `check()` to test reachability.
 * @example const store = await openBlobStore('file:///tmp/bucket');
 */
export async function openBlobStore(url: string, options: OpenBlobStoreOptions = {}): Promise<BlobStore> {
  const location = parseBucketUrl(url);
  if (location.scheme === 'file') return new LocalDirBlobStore(location.dir);
  const { GcsBlobStore } = await import('./gcs-blob-store.js');
  return new GcsBlobStore({
    bucket: location.bucket,
    prefix: location.prefix,
    ...(options.gcs === undefined ? {} : { storageOptions: options.gcs }),
    ...(options.gcsRetry === undefined ? {} : { retry: options.gcsRetry }),
  });
}
