// The one storage interface both sides use: the uploader writes blobs and manifests, the loader
// and reconcile read, list and quarantine. Implementations: a local directory (the embedded
// default) and Google Cloud Storage. Keys are relative to the store's root (bucket prefix).

import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  /** Last write time. */
  updated: Date;
  /**
   * When the store created the object, by the store's own clock (GCS `timeCreated`; a local
   * directory: the file's birth time). The uploader cannot set it: the loader orders snapshots by it.
   */
  created?: Date;
  /** Generation (GCS) or an equivalent monotonic token. */
  generation?: string;
  /** Metadata generation (GCS): moves when the object is touched or its metadata changes. */
  metageneration?: string;
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

export interface DeleteOptions {
  /** Delete only if the object is still as this stat saw it. */
  ifUnchanged?: Pick<ObjectInfo, 'generation' | 'metageneration'>;
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
  /**
   * Deleting a missing object is not an error. With `ifUnchanged` (a stat of the object), deletes
   * only if the object was neither rewritten nor touched since that stat, and returns false
   * otherwise (GCS: generation and metageneration preconditions).
   */
  delete(key: string, options?: DeleteOptions): Promise<boolean>;
  /**
   * Marks an existing object as in use again: its `updated` time moves to now (content and
   * generation unchanged; GCS: a metadata patch). Returns its new info, or null when it does not
   * exist. A push that reuses a stored blob touches it, so retention, which spares anything updated
   * within its safety window and deletes only `ifUnchanged`, can never delete it under the push.
   */
  touch(key: string): Promise<ObjectInfo | null>;
  /**
   * Check that the store is reachable and writable/readable, with a clear error if not. With
   * `probeKey` (a key this identity may read, existing or not), GCS proves the bucket and the
   * access with a stat of that key instead of a list: an uploader may read blobs/ but not list
   * the bucket.
   */
  check(probeKey?: string): Promise<void>;
}
