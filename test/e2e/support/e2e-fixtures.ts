// Shared pieces of the end-to-end and loader integration tests: push a built workspace to a
// bucket, count what landed in the cloud per (source, table), write hand-made (hostile)
// snapshots straight into a bucket, and snapshot the state of every aqe target table.
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Queryable } from '../../../functions/db/database.js';
import type { BlobStore } from '../../../functions/storage/blob-store.js';
import { codecContentType, compressSync } from '../../../functions/storage/blob-codec.js';
import type { CapturedSourceV1, CapturedSourceV2, ChunkRef, Manifest } from '../../../schema/snapshot/manifest.js';
import { serialiseManifest } from '../../../schema/snapshot/manifest.js';
import { type BlobCodec, blobKey, manifestKey } from '../../../schema/snapshot/object-keys.js';
import type { SourceFormat, SourceKind, SourceRole } from '../../../schema/sources/catalogue.js';
import { TARGET_TABLES } from '../../../schema/tables/target-tables.js';
import { loadConfig } from '../../../uploader/config.js';
import type { PushResult } from '../../../uploader/push/run-push.js';
import { runPush } from '../../../uploader/push/run-push.js';
import type { BuiltWorkspace } from '../../support/workspace-builder.js';

/** A temp folder and its removal. */
export async function tempDir(prefix = 'aqe-e2e-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Pushes the workspace at `root` as environment `env` to `store` (the real uploader). */
export async function pushWorkspace(root: string, env: string, store: BlobStore, options: { now?: () => Date } = {}): Promise<PushResult> {
  const config = loadConfig({ flags: { env, bucket: store.url }, env: {}, workspace: root, configText: null });
  const result = await runPush({ config, store, ...(options.now ? { now: options.now } : {}) });
  if (!result.manifestKey) throw new Error('push wrote no manifest');
  if (result.partial) throw new Error(`push was partial: ${JSON.stringify(result.sources.filter((s) => s.status !== 'captured'))}`);
  return result;
}

/**
 * Collections the workspace builder writes but does not list in `expected` (it lists the record
 * collections): the members of each JSON document outside its modelled collection, which land one
 * row per member in `source_rows`, and the redb `.meta.json` sidecar (one whole-document row).
 * Their shape is the same at every volume.
 */
export const UNLISTED_COLLECTIONS: Readonly<Record<string, number>> = {
  // intelligence.json: stats {6 counters}, learning {4 settings}
  'ruvector-intelligence/stats': 6,
  'ruvector-intelligence/learning': 4,
  // store.json: { version, entries }
  'claude-flow-store/version': 1,
  // daemon-state.json: running, startedAt, config {5 members}, savedAt (besides workers)
  'claude-flow-daemon/running': 1,
  'claude-flow-daemon/startedAt': 1,
  'claude-flow-daemon/config': 5,
  'claude-flow-daemon/savedAt': 1,
  // v2/data/ruvector-patterns.db.meta.json: one document
  'ruvector-patterns/ruvector-patterns.db.meta': 1,
};

/** What the cloud must hold for a workspace: the builder's counts (empty tables dropped) plus the unlisted collections. */
export function expectedCloudCounts(ws: BuiltWorkspace): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(ws.expected)) if (n > 0) out[k] = n;
  for (const [k, n] of Object.entries(UNLISTED_COLLECTIONS)) {
    if (k in out) throw new Error(`${k} is listed by the builder now: drop it from UNLISTED_COLLECTIONS`);
    out[k] = n;
  }
  return out;
}

/**
 * `"<source_id>/<source_table>"` → rows, over every aqe target table, for one environment (missing
 * rows included). A source row that carries its own vector also has a `source_vectors` row under
 * the same source table: that companion is not counted again.
 */
export async function cloudCounts(db: Queryable, env: string): Promise<Record<string, number>> {
  const union = TARGET_TABLES.map((t) => `SELECT '${t.name}' AS t, source_id, source_table FROM aqe.${t.name} WHERE source_env = $1`).join(' UNION ALL ');
  const res = await db.query<{ t: string; source_id: string; source_table: string; n: string | number }>(
    `SELECT t, source_id, source_table, count(*) AS n FROM (${union}) u GROUP BY t, source_id, source_table ORDER BY 2, 3, 1`,
    [env],
  );
  const out: Record<string, number> = {};
  const main = new Set(res.rows.filter((r) => r.t !== 'source_vectors').map((r) => `${r.source_id}/${r.source_table}`));
  for (const r of res.rows) {
    const k = `${r.source_id}/${r.source_table}`;
    if (r.t === 'source_vectors' && main.has(k)) continue;
    out[k] = (out[k] ?? 0) + Number(r.n);
  }
  return out;
}

/** Every row one environment holds, over every aqe target table (companion vector rows included). */
export async function cloudRowTotal(db: Queryable, env: string): Promise<number> {
  const union = TARGET_TABLES.map((t) => `SELECT count(*) AS n FROM aqe.${t.name} WHERE source_env = $1`).join(' UNION ALL ');
  const res = await db.query<{ n: string | number }>(`SELECT sum(n) AS n FROM (${union}) u`, [env]);
  return Number(res.rows[0]?.n ?? 0);
}

/** Rows per target table (all environments): every aqe target table, zeros included. */
export async function targetTableTotals(db: Queryable): Promise<Record<string, number>> {
  const union = TARGET_TABLES.map((t) => `SELECT '${t.name}' AS t, count(*) AS n FROM aqe.${t.name}`).join(' UNION ALL ');
  const res = await db.query<{ t: string; n: string | number }>(union);
  return Object.fromEntries(res.rows.map((r) => [r.t, Number(r.n)]));
}

/** Sum of targetTableTotals. */
export async function targetRowTotal(db: Queryable): Promise<number> {
  return Object.values(await targetTableTotals(db)).reduce((a, b) => a + b, 0);
}

/**
 * A fingerprint of every stored row's physical version (xmin) and run bookkeeping, per env:
 * equal before and after a load means the load wrote no target row.
 */
export async function rowVersions(db: Queryable, env: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const t of TARGET_TABLES) {
    const res = await db.query<{ k: string; v: string }>(
      `SELECT source_id || '/' || source_table || '/' || source_key AS k, xmin::text || ':' || last_run_id::text || ':' || coalesce(missing_since::text, '-') AS v
       FROM aqe.${t.name} WHERE source_env = $1`,
      [env],
    );
    for (const r of res.rows) out.set(`${t.name}:${r.k}`, r.v);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Hand-made snapshots

export interface HandSource {
  path: string;
  sourceId: string;
  format: SourceFormat;
  kind?: SourceKind;
  role?: SourceRole;
  /** Uncompressed content. */
  bytes: Buffer;
  /** Stored instead of gzip(bytes) (damaged blobs). */
  storedBytes?: Buffer;
  /** Recorded instead of sha256(bytes). */
  sha256?: string;
  tables?: Array<{ name: string; rows: number }>;
  /**
   * Format 2 (what aqe-upload writes now): the file as chunks of this many bytes (hand-made cut
   * points: the loader does not care how they were found), each its own blob in `codec`.
   */
  chunked?: {
    size: number;
    codec?: BlobCodec;
    /** Damage one chunk's blob: other content, gone, or cut in half. */
    fault?: { index: number; kind: 'other-content' | 'missing' | 'truncated' };
  };
}

/** The chunks of a hand-made format-2 source, and the bytes to store for each. */
function handChunks(s: HandSource): Array<{ ref: ChunkRef; stored: Buffer | null }> {
  const { size, codec = 'gzip', fault } = s.chunked!;
  const out: Array<{ ref: ChunkRef; stored: Buffer | null }> = [];
  for (let at = 0, i = 0; at < s.bytes.length || i === 0; at += size, i++) {
    const piece = s.bytes.subarray(at, at + size);
    const hash = sha(piece);
    let stored: Buffer | null = compressSync(piece, codec);
    if (fault?.index === i) {
      if (fault.kind === 'missing') stored = null;
      else if (fault.kind === 'truncated') stored = stored.subarray(0, Math.floor(stored.length / 2));
      else stored = compressSync(Buffer.concat([piece.subarray(1), Buffer.from('x')]), codec);
    }
    out.push({ ref: { sha256: hash, size: piece.length, storedSize: stored?.length ?? 0, codec, blobKey: blobKey(hash, codec) }, stored });
  }
  return out;
}

/** A ULID-shaped snapshot id that sorts by `n` (no clock involved). */
export function snapshotIdFor(n: number): string {
  return `01J${String(n).padStart(23, '0')}`;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The manifest entry (format 1: one gzip blob per file, what earlier versions wrote) of a hand-made source (blob key derived from its sha256). */
export function capturedEntry(s: HandSource, capturedAt = '2025-02-01T00:00:00.000Z'): CapturedSourceV1 {
  const hash = s.sha256 ?? sha(s.bytes);
  const stored = s.storedBytes ?? gzipSync(s.bytes);
  return {
    status: 'captured',
    sourceId: s.sourceId,
    kind: s.kind ?? (s.format === 'sqlite' ? 'sqlite' : 'json'),
    format: s.format,
    role: s.role ?? 'ACTIVE',
    path: s.path,
    sha256: hash,
    size: s.bytes.length,
    storedSize: stored.length,
    blobKey: blobKey(hash),
    capturedAt,
    schemaFingerprint: sha(Buffer.from(`fp:${s.path}`)),
    tables: s.tables ?? [],
  };
}

/** The format-2 manifest entry of a hand-made chunked source. */
export function chunkedEntry(s: HandSource, capturedAt = '2025-02-01T00:00:00.000Z'): CapturedSourceV2 {
  const { blobKey: _whole, storedSize: _stored, ...rest } = capturedEntry(s, capturedAt);
  const chunks = handChunks(s).map((c) => c.ref);
  return { ...rest, storedSize: chunks.reduce((a, c) => a + c.storedSize, 0), chunks };
}

export interface WrittenSnapshot {
  manifestKey: string;
  manifest: Manifest;
  bytes: Buffer;
}

/**
 * Writes the sources' blobs (gzip, content-addressed) and then a manifest into `store`.
 * `edit` may change the manifest object (it is then written raw, unvalidated, when `raw` is set).
 */
export async function writeSnapshot(
  store: BlobStore,
  opts: { env: string; snapshotId: string; sources: HandSource[]; createdAt?: string; keyEnv?: string; raw?: (m: Record<string, unknown>) => unknown },
): Promise<WrittenSnapshot> {
  for (const s of opts.sources) {
    if (s.chunked) {
      for (const c of handChunks(s)) if (c.stored !== null) await store.put(c.ref.blobKey, c.stored, { contentType: codecContentType(c.ref.codec) });
      continue;
    }
    const entry = capturedEntry(s);
    await store.put(entry.blobKey, s.storedBytes ?? gzipSync(s.bytes), { contentType: 'application/gzip' });
  }
  // format 2 as soon as one source is chunked; format 1 (what earlier versions wrote) otherwise
  const chunked = opts.sources.some((s) => s.chunked);
  const manifest: Manifest = chunked
    ? {
        formatVersion: 2,
        snapshotId: opts.snapshotId,
        env: opts.env,
        createdAt: opts.createdAt ?? '2025-02-01T00:00:00.000Z',
        tool: { name: 'aqe-upload', version: '0.0.0-test' },
        sources: opts.sources.map((s) => (s.chunked ? chunkedEntry(s) : chunkedEntry({ ...s, chunked: { size: Math.max(1, s.bytes.length) } }))),
      }
    : {
        formatVersion: 1,
        snapshotId: opts.snapshotId,
        env: opts.env,
        createdAt: opts.createdAt ?? '2025-02-01T00:00:00.000Z',
        tool: { name: 'aqe-upload', version: '0.0.0-test' },
        sources: opts.sources.map((s) => capturedEntry(s)),
      };
  if (chunked) {
    for (const s of opts.sources) {
      if (s.chunked) continue;
      for (const c of handChunks({ ...s, chunked: { size: Math.max(1, s.bytes.length) } })) await store.put(c.ref.blobKey, c.stored!, { contentType: 'application/gzip' });
    }
  }
  const key = manifestKey(opts.keyEnv ?? opts.env, opts.snapshotId);
  let bytes: Buffer;
  if (opts.raw) {
    const obj = JSON.parse(JSON.stringify(manifest)) as Record<string, unknown>;
    const edited = opts.raw(obj) ?? obj;
    bytes = Buffer.from(`${JSON.stringify(edited, null, 2)}\n`);
  } else {
    bytes = serialiseManifest(manifest);
  }
  await store.put(key, bytes, { contentType: 'application/json' });
  return { manifestKey: key, manifest, bytes };
}
