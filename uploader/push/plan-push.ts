// The push's decisions, pure (the changesets pattern: read → plan → write). Given what the read
// stage found (the workspace's files, each captured file's chunks, which chunk blobs the store
// already has, the environment's latest manifest), planPush says which blobs to write and which to
// touch, whether the manifest is written (dry run, skip-unchanged), and completePush turns the
// write stage's outcomes into the manifest and the push's per-source figures. No I/O here: every
// rule is unit-tested with values.

import type { ErrorCode } from '../../schema/errors.js';
import type { ChunkRef, Manifest, ManifestV2 } from '../../schema/snapshot/manifest.js';
import { type BlobCodec, blobKey } from '../../schema/snapshot/object-keys.js';
import type { CaptureOutcome } from '../snapshot/capture.js';
import type { DiscoveredFile } from '../workspace/discover.js';
import { type ContentFields, type ManifestHeader, type PlannedEntry, planManifest, sameContent, withoutLocalPaths } from './plan-manifest.js';

/** A chunk blob the store holds (looked up by the read stage, in any codec). */
export interface StoredBlob {
  codec: BlobCodec;
  /** Stored (compressed) bytes. */
  size: number;
  /** When it was last written or touched. */
  updated: Date;
}

/** What the read stage found. */
export interface PushReadout {
  header: ManifestHeader;
  /** Every discovered file, in discovery order (excluded and disabled ones too). */
  discovered: readonly DiscoveredFile[];
  /** The capture of each present file. */
  captures: ReadonlyMap<DiscoveredFile, CaptureOutcome>;
  /** Each chunk sha256 of the captures → the blob the store has for it, or null. */
  stored: ReadonlyMap<string, StoredBlob | null>;
  /** The environment's latest manifest (looked up with skipUnchanged only; null otherwise or when none). */
  previous: Manifest | null;
  /** This machine's paths, kept out of failure reasons. */
  localRoots: { workspace: readonly string[]; temp: string; home: string };
}

export interface PlanPushOptions {
  dryRun: boolean;
  skipUnchanged: boolean;
  /** Codec of new blobs. */
  codec: BlobCodec;
  /** The time of the plan (ms since epoch): a reused blob older than touchAfterMs is touched. */
  nowMs: number;
  touchAfterMs: number;
}

/** Where a chunk's bytes are: a span of a snapshot copy. */
export interface ChunkSource {
  path: string;
  offset: number;
}

/** One blob the write stage handles. A `touch` whose blob is gone by then (retention) becomes an `upload`. */
export type BlobAction =
  | { kind: 'upload'; sha256: string; size: number; codec: BlobCodec; from: ChunkSource }
  | { kind: 'touch'; sha256: string; size: number; codec: BlobCodec; from: ChunkSource };

/** What the write stage reports for one blob it handled. */
export interface WrittenBlob {
  codec: BlobCodec;
  /** Stored (compressed) bytes. */
  storedSize: number;
  /** Bytes this push sent (0 when the blob was there, touched, or stored by another push meanwhile). */
  uploadedBytes: number;
  /** true when the blob was in the store before this push wrote anything. */
  existed: boolean;
}

/** The manifest entry of one source, and its figures, before the write stage fills in stored sizes. */
export type PlannedSource =
  | { status: 'captured'; file: DiscoveredFile; capture: Extract<CaptureOutcome, { status: 'captured' }> }
  | { status: 'missing' | 'failed'; file: DiscoveredFile; reason: string; code: ErrorCode | undefined };

export interface PushPlan {
  sources: PlannedSource[];
  /** Blobs to write or touch, each chunk once (the first file listing it gives its bytes). Empty in a dry run. */
  actions: BlobAction[];
  /** Chunks that are new (not in the store): written, or in a dry run would be. */
  newChunks: ReadonlySet<string>;
  /** With skipUnchanged: the content equals the latest snapshot (then no manifest is written). */
  unchanged: boolean;
  previousSnapshotId: string | null;
  writeManifest: boolean;
}

/**
 * Decides the push from what was read.
 * @example const plan = planPush(readout, { dryRun: false, skipUnchanged: false, codec: 'zstd', nowMs: Date.now(), touchAfterMs: TOUCH_AFTER_MS })
 */
export function planPush(readout: PushReadout, options: PlanPushOptions): PushPlan {
  const sources: PlannedSource[] = [];
  for (const file of readout.discovered) {
    if (file.state === 'excluded' || file.state === 'disabled') continue;
    const capture = readout.captures.get(file);
    if (capture?.status === 'captured') {
      sources.push({ status: 'captured', file, capture });
      continue;
    }
    const status = file.state === 'missing' ? 'missing' : 'failed';
    const reason = withoutLocalPaths(capture?.status === 'failed' ? capture.reason : (file.problem?.message ?? `${file.path}: could not be captured`), readout.localRoots);
    const code = capture?.status === 'failed' ? capture.code : file.problem?.code;
    sources.push({ status, file, reason, code: status === 'missing' ? undefined : code });
  }

  const actions: BlobAction[] = [];
  const newChunks = new Set<string>();
  const planned = new Set<string>();
  for (const s of sources) {
    if (s.status !== 'captured') continue;
    for (const chunk of s.capture.chunks) {
      if (planned.has(chunk.sha256)) continue;
      planned.add(chunk.sha256);
      const stored = readout.stored.get(chunk.sha256) ?? null;
      if (stored === null) newChunks.add(chunk.sha256);
      const action = chunkAction(chunk, { path: s.capture.tempPath, offset: chunk.offset }, stored, options);
      if (action !== null) actions.push(action);
    }
  }

  const unchanged = options.skipUnchanged && readout.previous !== null && sameContent(readout.previous, { sources: contentOf(sources) });
  return {
    sources,
    actions: options.dryRun ? [] : actions,
    newChunks,
    unchanged,
    previousSnapshotId: options.skipUnchanged ? (readout.previous?.snapshotId ?? null) : null,
    writeManifest: !options.dryRun && !unchanged,
  };
}

/**
 * The one rule for a chunk: a chunk the store lacks is uploaded; one it has is touched when it was
 * last updated touchAfterMs ago or more, else left alone (null). planPush applies it to every
 * chunk; the write-ahead (write-ahead.ts) to each chunk as it is cut, before the plan.
 */
export function chunkAction(chunk: { sha256: string; size: number }, from: ChunkSource, stored: StoredBlob | null, options: Pick<PlanPushOptions, 'codec' | 'nowMs' | 'touchAfterMs'>): BlobAction | null {
  if (stored === null) return { kind: 'upload', sha256: chunk.sha256, size: chunk.size, codec: options.codec, from };
  // Retention spares blobs updated within its safety window (at least an hour) and deletes only
  // if unchanged since it looked: a blob updated lately is safe as it is, an older one is
  // touched. Touching only those keeps many pushes of the same content (CI fleets) under Cloud
  // Storage's limit of one update per second per object.
  if (options.nowMs - stored.updated.getTime() >= options.touchAfterMs) return { kind: 'touch', sha256: chunk.sha256, size: chunk.size, codec: stored.codec, from };
  return null;
}

/** Per-source figures of a completed push (what PushSourceResult reports beyond the manifest entry). */
export interface SourceFigures {
  chunks: number;
  newChunks: number;
  uploadedBytes: number;
  skippedBytes: number;
}

export interface CompletedPush {
  manifest: ManifestV2;
  /** In the order of plan.sources; null for a source that was not captured. */
  figures: Array<SourceFigures | null>;
  /** Compressed bytes sent, each blob once. */
  uploadedBytes: number;
  /** Distinct chunk blobs that were new. */
  newBlobs: number;
}

/**
 * The manifest and figures once the write stage is done. A chunk's stored codec and size come
 * from what was written or touched, else from the store as read; a new chunk of a dry run has
 * stored size 0 and the push's codec. Bytes sent count once, for the first source listing the chunk.
 */
export function completePush(plan: PushPlan, readout: Pick<PushReadout, 'header' | 'stored'>, written: ReadonlyMap<string, WrittenBlob>, codec: BlobCodec): CompletedPush {
  const refOf = (sha256: string, size: number): ChunkRef => {
    const w = written.get(sha256);
    const stored = readout.stored.get(sha256) ?? null;
    const c = w?.codec ?? stored?.codec ?? codec;
    return { sha256, size, storedSize: w?.storedSize ?? stored?.size ?? 0, codec: c, blobKey: blobKey(sha256, c) };
  };
  const existed = (sha256: string) => written.get(sha256)?.existed ?? !plan.newChunks.has(sha256);
  const counted = new Set<string>();
  const entries: PlannedEntry[] = [];
  const figures: Array<SourceFigures | null> = [];
  for (const s of plan.sources) {
    if (s.status !== 'captured') {
      entries.push(s);
      figures.push(null);
      continue;
    }
    const c = s.capture;
    const chunks = c.chunks.map((span) => refOf(span.sha256, span.size));
    const mine = new Set(c.chunks.map((span) => span.sha256));
    let uploadedBytes = 0;
    let skippedBytes = 0;
    let newChunks = 0;
    for (const sha256 of mine) {
      const size = c.chunks.find((span) => span.sha256 === sha256)!.size;
      if (existed(sha256)) skippedBytes += size;
      else newChunks++;
      if (!counted.has(sha256)) {
        counted.add(sha256);
        uploadedBytes += written.get(sha256)?.uploadedBytes ?? 0;
      }
    }
    entries.push({
      status: 'captured',
      file: s.file,
      sha256: c.sha256,
      size: c.size,
      storedSize: chunks.reduce((a, ch) => a + ch.storedSize, 0),
      chunks,
      capturedAt: c.capturedAt,
      modifiedAt: c.modifiedAt,
      schemaFingerprint: c.schemaFingerprint,
      tables: c.tables,
    });
    figures.push({ chunks: chunks.length, newChunks, uploadedBytes, skippedBytes });
  }
  let uploadedBytes = 0;
  for (const w of written.values()) uploadedBytes += w.uploadedBytes;
  const newBlobs = [...counted].filter((sha256) => !existed(sha256)).length;
  return { manifest: planManifest(readout.header, entries), figures, uploadedBytes, newBlobs };
}

/** The content identity fields of a plan's sources (what sameContent compares). */
function contentOf(sources: readonly PlannedSource[]): ContentFields[] {
  return sources.map((s) => (s.status === 'captured' ? { status: 'captured', sourceId: s.file.sourceId, path: s.file.path, sha256: s.capture.sha256 } : { status: s.status, sourceId: s.file.sourceId, path: s.file.path, code: s.code }));
}
