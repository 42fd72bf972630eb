// The push, as a library function, in three stages (the changesets pattern):
// read (read-push.ts: discover, capture each file consistently and read it once for its sha256
// and chunks, look up which chunk blobs the store has and, for skip-unchanged, the latest
// manifest) → plan (plan-push.ts, pure: which blobs to write or touch, whether a manifest is
// written) → write (write-push.ts: the blobs, then the manifest LAST: its arrival commits the
// snapshot). If any blob fails, no manifest is written, so a reader never sees a snapshot whose
// blobs are not all there. Only chunks the store lacks are read again, hashed and compressed.
// The write-ahead (write-ahead.ts) applies the plan's rule to each chunk as soon as it is read, so
// the blobs of a large file are compressed and stored while the file is still being read; the
// plan then lists nothing new for them. Each SQLite copy's integrity check runs on a compression
// worker while the main thread reads the copy.
//
// Unchanged workspace: blobs are never sent twice (0 blob bytes). By default a new small manifest
// is still written: it records that the environment was seen at this time, and the loader
// acknowledges it cheaply (every row unchanged). With `skipUnchanged`, the content identity
// (path → sha256, and failures) is compared with the environment's latest manifest and nothing
// is written when they are equal.

import { realpath } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { ulid } from 'ulid';
import { preferredCodec } from '../../functions/storage/blob-codec.js';
import type { BlobStore } from '../../functions/storage/blob-store.js';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import type { Manifest } from '../../schema/snapshot/manifest.js';
import { manifestSha256, serialiseManifest } from '../../schema/snapshot/manifest.js';
import type { BlobCodec } from '../../schema/snapshot/object-keys.js';
import { blobKey, manifestKey } from '../../schema/snapshot/object-keys.js';
import { storeOptions, type UploaderConfig } from '../config.js';
import { withTempDir } from '../snapshot/capture.js';
import type { ChunkSpan } from '../snapshot/content-chunks.js';
import { TOOL_NAME, toolVersion } from '../tool-info.js';
import type { DiscoveredFile } from '../workspace/discover.js';
import { assertWorkspace, discoverSources } from '../workspace/discover.js';
import { CompressPool } from './compress-pool.js';
import { completePush, planPush, type PushPlan, type PushReadout, type WrittenBlob } from './plan-push.js';
import { captureAll, latestManifest, lookupStoredBlobs } from './read-push.js';
import { WriteAhead } from './write-ahead.js';
import { blobWriteFailed, TOUCH_AFTER_MS, writeBlobs, writeManifest } from './write-push.js';

/**
 * SQLite copies of at least this size are checked on a compression worker while the main thread
 * reads them; a smaller one is checked on the main thread (quicker than starting a worker for it).
 */
const CHECK_ON_WORKER_BYTES = 8 * 1024 * 1024;

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
  const capture = options.wholeFileMaxBytes === undefined ? {} : { wholeFileMaxBytes: options.wholeFileMaxBytes };

  const nowMs = Date.now();
  return withTempDir(async (dir) => {
    // The compression workers also run each SQLite copy's integrity check while the main thread
    // reads the copy; a dry run uses them for that alone.
    const pool = new CompressPool(options.compressThreads);
    let plan: PushPlan;
    let readout: PushReadout;
    let written: Map<string, WrittenBlob>;
    // read, with the write-ahead storing each new chunk as soon as it is cut (never in a dry run)
    const ahead = dryRun ? null : new WriteAhead(store, pool, { codec, nowMs, touchAfterMs: TOUCH_AFTER_MS });
    try {
      const captures = await captureAll(present, dir, {
        ...capture,
        concurrency: options.concurrency ?? 3,
        onCaptured: (file, done) => progress({ phase: 'capture', path: file.path, done, total: present.length }),
        ...(ahead === null ? {} : { onChunk: (path: string, chunk: ChunkSpan) => ahead.offer(path, chunk) }),
        ...(pool.size > 0 ? { checkSqlite: (path: string, size: number) => (size >= CHECK_ON_WORKER_BYTES ? pool.checkSqlite(path) : null) } : {}),
      });
      const failure = ahead === null ? null : await ahead.settle();
      if (failure !== null) throw blobWriteFailed(failure);
      const chunkShas = [...captures.values()].flatMap((c) => (c.status === 'captured' ? c.chunks.map((ch) => ch.sha256) : []));
      const stored = new Map(ahead?.stored);
      for (const [sha256, blob] of await lookupStoredBlobs(store, chunkShas.filter((sha256) => !stored.has(sha256)), codec)) stored.set(sha256, blob);
      readout = {
        // no host name unless configured (AQE_HOST / "host"): it is not the cloud's business
        header: { snapshotId, env: config.env, createdAt, tool: { name: TOOL_NAME, version: toolVersion() }, host: config.host },
        discovered,
        captures,
        stored,
        previous: options.skipUnchanged ? await latestManifest(store, config.env) : null,
        localRoots,
      };
      // plan (the same rule the write-ahead applied: it lists nothing the write-ahead has not done)
      plan = planPush(readout, { dryRun, skipUnchanged: options.skipUnchanged === true, codec, nowMs, touchAfterMs: TOUCH_AFTER_MS });
      // write what no read announced
      written = new Map(ahead?.written);
      const rest = plan.actions.filter((a) => !written.has(a.sha256));
      if (rest.length > 0) for (const [sha256, blob] of await writeBlobs(store, rest, pool)) written.set(sha256, blob);
    } finally {
      // nothing of the write-ahead may still read the temp folder or use the pool
      await ahead?.settle();
      await pool.close();
    }
    const done = completePush(plan, readout, written, codec);
    let bytes: Buffer;
    try {
      bytes = serialiseManifest(done.manifest);
    } catch (err) {
      throw new AppError('INTERNAL', `the snapshot manifest did not pass its own schema (${errorMessage(err)}); this is a bug in aqe-upload, please report it`, { cause: err });
    }
    let key: string | null = null;
    if (plan.writeManifest) {
      progress({ phase: 'manifest' });
      key = manifestKey(config.env, snapshotId);
      await writeManifest(store, key, bytes);
    }

    const sources: PushSourceResult[] = plan.sources.map((s, i) => {
      const common = { sourceId: s.file.sourceId, path: s.file.path, kind: s.file.kind, format: s.file.format, role: s.file.spec.role };
      if (s.status === 'captured') {
        const c = s.capture;
        const f = done.figures[i]!;
        return { ...common, status: 'captured', size: c.size, sha256: c.sha256, chunks: f.chunks, newChunks: f.newChunks, newBlob: f.newChunks > 0, uploadedBytes: f.uploadedBytes, skippedBytes: f.skippedBytes, tables: c.tables, warnings: c.warnings };
      }
      return { ...common, status: s.status, size: 0, chunks: 0, newChunks: 0, newBlob: false, uploadedBytes: 0, skippedBytes: 0, tables: [], warnings: [], reason: s.reason, ...(s.status === 'failed' && s.code ? { code: s.code } : {}) };
    });
    const capturedSources = sources.filter((s) => s.status === 'captured');
    const result: PushResult = {
      snapshotId,
      env: config.env,
      bucket: store.url,
      dryRun,
      manifestKey: key,
      manifestSha256: key === null ? null : manifestSha256(bytes),
      manifestWritten: key !== null,
      unchanged: plan.unchanged,
      previousSnapshotId: plan.previousSnapshotId,
      partial: sources.some((s) => s.status === 'failed'),
      manifest: done.manifest as Manifest,
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
        uploadedBytes: done.uploadedBytes,
        newBlobs: done.newBlobs,
      },
      durationMs: Math.round(performance.now() - started),
    };
    return result;
  });
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}
