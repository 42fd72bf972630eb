// The one storage interface both sides use: the uploader writes blobs and manifests, the loader
// and reconcile read, list and quarantine. Implementations: a local directory (the embedded
// default) and Google Cloud Storage. Keys are relative to the store's root (bucket prefix).

import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  /** Last write time. */
  updated: Date;
  /** Generation (GCS) or an equivalent monotonic token. */
  generation?: string;
  metadata?: Record<string, string>;
}

export interface PutOptions {
  /** Create-only: succeed with `created: false` when the object already exists (GCS ifGenerationMatch: 0). */
  ifAbsent?: boolean;
  contentType?: string;
  metadata?: Record<string, string>;
  /** Expected size in bytes, when known (lets implementations choose resumable uploads). */
  size?: number;
}

export interface PutResult {
  /** false when `ifAbsent` was set and the object already existed (nothing written). */
  created: boolean;
  /** Bytes written (0 when not created). */
  bytes: number;
}

/**
 * An object store. Errors are AppErrors: `OBJECT_NOT_FOUND`, `BUCKET_NOT_FOUND`, `BUCKET_AUTH`,
 * `BUCKET_UNREACHABLE` (transient), `DISK_FULL`. A failed put never leaves a partial object visible.
 */
export interface BlobStore {
  /** Human-readable location, e.g. `gs://bucket/prefix` or `file:///dir` (never credentials). */
  readonly url: string;
  put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<PutResult>;
  /** Whole object in memory (manifests, small objects). */
  get(key: string): Promise<Buffer>;
  /** Streamed object (blobs). */
  getStream(key: string): Promise<Readable>;
  exists(key: string): Promise<boolean>;
  stat(key: string): Promise<ObjectInfo | null>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Check that the store is reachable and writable/readable, with a clear error if not. */
  check(): Promise<void>;
}
