// The push, as a library function: discover → capture each file consistently → store the blobs
// not yet stored → put the manifest LAST (its arrival commits the snapshot). If any blob fails,
// no manifest is written, so a reader never sees a snapshot whose blobs are not all there.
//
// Unchanged workspace: blobs are never sent twice (0 blob bytes). By default a new small manifest
// is still written: it records that the environment was seen at this time, and the loader
// acknowledges it cheaply (every row unchanged). With `skipUnchanged`, the content identity
// (path → sha256, and failures) is compared with the environment's latest manifest and nothing
// is written when they are equal.

import { realpath } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ulid } from 'ulid';
import type { BlobStore } from '../../functions/storage/blob-store.js';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import type { Manifest } from '../../schema/snapshot/manifest.js';
import { manifestSha256, serialiseManifest } from '../../schema/snapshot/manifest.js';
import { blobKey, manifestKey } from '../../schema/snapshot/object-keys.js';
import { storeOptions, type UploaderConfig } from '../config.js';
import type { CaptureOutcome } from '../snapshot/capture.js';
import { captureFile, withTempDir } from '../snapshot/capture.js';
import { TOOL_NAME, toolVersion } from '../tool-info.js';
import type { DiscoveredFile } from '../workspace/discover.js';
import { assertWorkspace, discoverSources } from '../workspace/discover.js';
import type { PlannedEntry } from './plan-manifest.js';
import { planManifest, sameContent, withoutLocalPaths } from './plan-manifest.js';
import { findLatestManifest } from './previous-manifest.js';
import { preferredCodec } from '../../functions/storage/blob-codec.js';
import type { BlobCodec } from '../../schema/snapshot/object-keys.js';
import { CompressPool } from './compress-pool.js';
import type { BlobOutcome, FileBlobsOutcome } from './store-blob.js';
import { storeFileChunks } from './store-blob.js';

/** Progress of a push, for a TTY display (never part of results). */
export type PushProgress =
  | { phase: 'discover' }
  | { phase: 'capture'; path: string; done: number; total: number }
  | { phase: 'manifest' };

export interface PushOptions {
  config: Pick<UploaderConfig, 'workspace' | 'env' | 'bucket' | 'sources' | 'exclude'> & Partial<Pick<UploaderConfig, 'storageRetries' | 'host'>>;
  /** The store to write to (default: opened from `config.bucket`). */
  store?: BlobStore;
  /** Capture and compare with the store, write nothing. */
  dryRun?: boolean;
  /** Write no manifest when the content equals the environment's latest snapshot. */
  skipUnchanged?: boolean;
  onProgress?: (event: PushProgress) => void;
  /** Files captured and uploaded at once (default 3). */
  concurrency?: number;
  /** The machine's clock (the manifest's createdAt and snapshot id; tests give one that runs ahead). */
  now?: () => Date;
  /** Codec of new blobs (default: zstd when this process has it, else gzip). */
  codec?: BlobCodec;
  /** Compression worker threads (default: one per core, at most 2; 0 compresses on the main thread). */
  compressThreads?: number;
  /** Files up to this size stay one blob (default ~4 MiB; Infinity sends whole files, as before chunking: the bench's baseline). */
  wholeFileMaxBytes?: number;
}

/** One manifest entry's outcome. */
export interface PushSourceResult {
  sourceId: string;
  path: string;
  kind: string;
  format: string;
  role: string;
  status: 'captured' | 'missing' | 'failed';
  /** Uncompressed bytes (captured only). */
  size: number;
  sha256?: string;
  /** Chunks the file was cut into (a small file is one). */
  chunks: number;
  /** Chunks whose blob had to be stored (or would be, in a dry run). */
  newChunks: number;
  /** true when any of its blobs had to be stored (or would be, in a dry run). */
  newBlob: boolean;
  /** Compressed bytes sent by this push. */
  uploadedBytes: number;
  /** Uncompressed bytes not sent because the store already had them. */
  skippedBytes: number;
  tables: Array<{ name: string; rows: number }>;
  warnings: string[];
  reason?: string;
  code?: string;
}

export interface PushResult {
  snapshotId: string;
  env: string;
  /** Where the snapshot went (store URL, no credentials). */
  bucket: string;
  dryRun: boolean;
  /** Key of the manifest written, or null (dry run, or unchanged with skipUnchanged). */
  manifestKey: string | null;
  /** sha256 of the manifest bytes (the snapshot's identity); null when none was written. */
  manifestSha256: string | null;
  manifestWritten: boolean;
  /** true with skipUnchanged when the content equals the latest snapshot (then nothing is written). */
  unchanged: boolean;
  /** The environment's latest snapshot before this push (only looked up with skipUnchanged). */
  previousSnapshotId: string | null;
  /** true when some sources could not be captured (the manifest lists them as failed). */
  partial: boolean;
  /** The manifest (written, or that would have been written). */
  manifest: Manifest;
  sources: PushSourceResult[];
  /** Files left out on purpose (exclude patterns, disabled sources). */
  skipped: Array<{ sourceId: string; path: string; state: 'excluded' | 'disabled'; reason?: string }>;
  totals: {
    files: number;
    captured: number;
    missing: number;
    failed: number;
    /** Uncompressed bytes captured. */
    bytes: number;
    /** Uncompressed bytes whose blobs had to be stored (would be, in a dry run). */
    newBytes: number;
    /** Uncompressed bytes already in the store. */
    skippedBytes: number;
    /** Compressed bytes sent (0 in a dry run). */
    uploadedBytes: number;
    newBlobs: number;
  };
  durationMs: number;
}

/**
 * Pushes one snapshot of a workspace. Throws an AppError for what stops the whole push (workspace
 * not found, bucket unreachable, a blob upload failed: then no manifest is written); sources that
 * cannot be captured do not throw: they are listed as failed and `partial` is true.
 * @example const result = await runPush({ config: loadConfig({ … }) }); console.log(result.manifestKey)
 */
export async function runPush(options: PushOptions): Promise<PushResult> {
  const started = performance.now();
  const { config } = options;
  const dryRun = options.dryRun === true;
  const progress = options.onProgress ?? (() => {});
  await assertWorkspace(config.workspace);
  const store = options.store ?? (await openBlobStore(config.bucket, storeOptions(config.storageRetries)));
  // Fail fast on a bucket that is missing or not writable, before copying anything. A dry run only
  // reads. The probe is a blob key: an uploader may read blobs/ but not list the bucket.
  if (!dryRun) await store.check(blobKey('0'.repeat(64)));

  progress({ phase: 'discover' });
  const discovered = await discoverSources(config);
  const createdAt = (options.now ?? (() => new Date()))();
  const snapshotId = ulid(createdAt.getTime());
  const present = discovered.filter((f) => f.state === 'present');
  const localRoots = { workspace: [config.workspace, await realpath(config.workspace).catch(() => config.workspace)], temp: tmpdir(), home: homedir() };

  const codec = options.codec ?? preferredCodec();
  const pool = new CompressPool(options.compressThreads);
  let captured: CapturedAndStored[];
  try {
    captured = await withTempDir((dir) => captureAndStore(present, dir, store, { dryRun, codec, pool, ...(options.wholeFileMaxBytes === undefined ? {} : { wholeFileMaxBytes: options.wholeFileMaxBytes }) }, options.concurrency ?? 3, progress));
  } finally {
    await pool.close();
  }
  const byFile = new Map(captured.map((c) => [c.outcome.file, c]));

  const entries: PlannedEntry[] = [];
  const sources: PushSourceResult[] = [];
  for (const file of discovered) {
    if (file.state === 'excluded' || file.state === 'disabled') continue;
    const common = { sourceId: file.sourceId, path: file.path, kind: file.kind, format: file.format, role: file.spec.role };
    const done = byFile.get(file);
    if (done?.outcome.status === 'captured' && done.blob !== null) {
      const { outcome: c, blob } = done;
      entries.push({ status: 'captured', file, sha256: c.sha256, size: c.size, storedSize: blob.storedSize, chunks: blob.chunks, capturedAt: c.capturedAt, modifiedAt: c.modifiedAt, schemaFingerprint: c.schemaFingerprint, tables: c.tables });
      sources.push({
        ...common,
        status: 'captured',
        size: c.size,
        sha256: c.sha256,
        chunks: blob.chunks.length,
        newChunks: blob.newBlobs.length,
        newBlob: blob.newBlobs.length > 0,
        uploadedBytes: blob.uploadedBytes,
        skippedBytes: blob.existingBytes,
        tables: c.tables,
        warnings: c.warnings,
      });
      continue;
    }
    const status = file.state === 'missing' ? 'missing' : 'failed';
    const reason = withoutLocalPaths(done?.outcome.status === 'failed' ? done.outcome.reason : (file.problem?.message ?? `${file.path}: could not be captured`), localRoots);
    const code = done?.outcome.status === 'failed' ? done.outcome.code : file.problem?.code;
    entries.push({ status, file, reason, code: status === 'missing' ? undefined : code });
    sources.push({ ...common, status, size: 0, chunks: 0, newChunks: 0, newBlob: false, uploadedBytes: 0, skippedBytes: 0, tables: [], warnings: [], reason, ...(status === 'failed' && code ? { code } : {}) });
  }

  // no host name unless configured (AQE_HOST / "host"): it is not the cloud's business
  const manifest = planManifest({ snapshotId, env: config.env, createdAt, tool: { name: TOOL_NAME, version: toolVersion() }, host: config.host }, entries);
  let bytes: Buffer;
  try {
    bytes = serialiseManifest(manifest);
  } catch (err) {
    throw new AppError('INTERNAL', `the snapshot manifest did not pass its own schema (${errorMessage(err)}); this is a bug in aqe-upload, please report it`, { cause: err });
  }

  let previousSnapshotId: string | null = null;
  let unchanged = false;
  if (options.skipUnchanged) {
    const previous = await findLatestManifest(store, config.env);
    previousSnapshotId = previous?.manifest.snapshotId ?? null;
    unchanged = previous !== null && sameContent(previous.manifest, manifest);
  }

  let key: string | null = null;
  if (!dryRun && !unchanged) {
    progress({ phase: 'manifest' });
    key = manifestKey(config.env, snapshotId);
    // Written last, create-only: its arrival commits the snapshot.
    try {
      await store.put(key, bytes, { ifAbsent: true, contentType: 'application/json' });
    } catch (err) {
      const base = err instanceof AppError ? err : new AppError('BUCKET_UNREACHABLE', errorMessage(err), { cause: err, transient: true });
      throw new AppError(base.code, `${base.message}\nThe manifest was not written, so no snapshot was committed; run the push again (blobs already stored are not sent twice)`, {
        cause: err,
        transient: base.transient,
        ...(base.details ? { details: base.details } : {}),
      });
    }
  }

  const capturedSources = sources.filter((s) => s.status === 'captured');
  return {
    snapshotId,
    env: config.env,
    bucket: store.url,
    dryRun,
    manifestKey: key,
    manifestSha256: key === null ? null : manifestSha256(bytes),
    manifestWritten: key !== null,
    unchanged,
    previousSnapshotId,
    partial: sources.some((s) => s.status === 'failed'),
    manifest,
    sources,
    skipped: discovered
      .filter((f): f is DiscoveredFile & { state: 'excluded' | 'disabled' } => f.state === 'excluded' || f.state === 'disabled')
      .map((f) => ({ sourceId: f.sourceId, path: f.path, state: f.state, ...(f.problem ? { reason: f.problem.message } : {}) })),
    totals: {
      files: sources.length,
      captured: capturedSources.length,
      missing: sources.filter((s) => s.status === 'missing').length,
      failed: sources.filter((s) => s.status === 'failed').length,
      bytes: sum(capturedSources.map((s) => s.size)),
      newBytes: sum(capturedSources.map((s) => s.size - s.skippedBytes)),
      skippedBytes: sum(capturedSources.map((s) => s.skippedBytes)),
      uploadedBytes: sum(capturedSources.map((s) => s.uploadedBytes)),
      newBlobs: new Set(captured.flatMap((c) => c.blob?.newBlobs ?? [])).size,
    },
    durationMs: Math.round(performance.now() - started),
  };
}

interface CapturedAndStored {
  outcome: CaptureOutcome;
  blob: FileBlobsOutcome | null;
}

/**
 * Captures each file into `dir` and stores its blob right away (the copy is then deleted with the
 * folder), a few files at a time. The first blob failure stops new work and is thrown once the
 * files in flight are done.
 */
async function captureAndStore(
  files: readonly DiscoveredFile[],
  dir: string,
  store: BlobStore,
  blobOptions: { dryRun: boolean; codec: BlobCodec; pool: CompressPool; wholeFileMaxBytes?: number },
  concurrency: number,
  progress: (event: PushProgress) => void,
): Promise<CapturedAndStored[]> {
  const results: CapturedAndStored[] = new Array(files.length);
  // The same content may appear twice (two identical files, or repeated in a file): store its blob once.
  const seen = new Map<string, Promise<BlobOutcome>>();
  const files_ = new Map<string, Promise<FileBlobsOutcome>>();
  let next = 0;
  let done = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < files.length) {
      const i = next++;
      const file = files[i]!;
      const outcome = await captureFile(file, join(dir, `${i}.copy`));
      let blob: FileBlobsOutcome | null = null;
      if (outcome.status === 'captured') {
        try {
          let pending = files_.get(outcome.sha256);
          if (pending === undefined) {
            pending = storeFileChunks(store, outcome.tempPath, { ...blobOptions, seen });
            files_.set(outcome.sha256, pending);
          }
          blob = await pending;
        } catch (err) {
          failure ??= err;
        }
      }
      results[i] = { outcome, blob };
      progress({ phase: 'capture', path: file.path, done: ++done, total: files.length });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, worker));
  if (failure !== null) {
    const cause = failure;
    const base = cause instanceof AppError ? cause : new AppError('BUCKET_UNREACHABLE', errorMessage(cause), { cause, transient: true });
    throw new AppError(base.code, `${base.message}\nNo manifest was written, so no snapshot was committed; run the push again (blobs already stored are not sent twice)`, {
      cause,
      transient: base.transient,
      ...(base.details ? { details: base.details } : {}),
    });
  }
  return results;
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
