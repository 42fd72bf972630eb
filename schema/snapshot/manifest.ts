// The snapshot manifest: a versioned, schema-validated JSON document listing every source file of
// one snapshot. The uploader writes it last (commit point); the loader validates it before reading
// anything else. Pure: parse / serialise only.
//   format 1: each captured file is one gzip blob (`blobKey`).
//   format 2: each captured file is a list of content-defined chunks in order (`chunks`), each its
//             own content-addressed blob with its codec; a small file is one chunk. Both are read.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { describeJsonSyntaxError } from '../json-syntax.js';
import { ENV_NAME_PATTERN, SOURCE_FORMATS, SOURCE_ID_PATTERN, SOURCE_KINDS, SOURCE_ROLES } from '../sources/catalogue.js';
import { BLOB_CODECS, type BlobCodec, blobKey, SNAPSHOT_ID_PATTERN } from './object-keys.js';

/** The format this version writes. */
export const MANIFEST_FORMAT_VERSION = 2;
/** The formats this version reads. */
export const READABLE_FORMAT_VERSIONS: readonly number[] = [1, 2];

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex characters');
const isoTime = z.iso.datetime({ offset: true });

/** A path relative to the workspace: posix separators, no absolute path, no `..`, no NUL. */
export const relativePath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(p), 'expected a path relative to the workspace, got an absolute path')
  .refine((p) => !p.includes('\\'), 'expected posix separators (/)')
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.' || s === ''), 'expected a normalised path without "..", "." or empty segments')
  .refine((p) => !/[\u0000-\u001f]/.test(p), 'control characters are not allowed');

/** Most tables (or collections) one source entry lists. */
export const MAX_TABLES_PER_SOURCE = 10_000;

/** Row count of one table (SQLite) or collection (JSON) as captured. */
export const tableCountSchema = z.strictObject({
  name: z.string().min(1).max(256),
  rows: z.number().int().nonnegative(),
});

/** Most chunks one source lists (50,000 chunks of ~1 MiB: ~50 GiB, beyond any load limit). */
export const MAX_CHUNKS_PER_SOURCE = 50_000;

/** One content-defined piece of a source file, stored as its own content-addressed blob. */
export const chunkSchema = z.strictObject({
  /** sha256 of the chunk's uncompressed bytes (its blob's identity). */
  sha256,
  /** Uncompressed bytes. */
  size: z.number().int().nonnegative(),
  /** Compressed bytes as stored (the blob may have been stored by an earlier push). */
  storedSize: z.number().int().nonnegative(),
  codec: z.enum(BLOB_CODECS),
  /** blobKey(sha256, codec): written out so that anyone reading a manifest sees which objects it needs. */
  blobKey: z.string(),
});

const capturedFields = {
  status: z.literal('captured'),
  sourceId: z.string().regex(SOURCE_ID_PATTERN, 'expected a source id like "v3-memory"'),
  kind: z.enum(SOURCE_KINDS as [string, ...string[]]),
  format: z.enum(SOURCE_FORMATS as [string, ...string[]]),
  role: z.enum(SOURCE_ROLES as [string, ...string[]]),
  path: relativePath,
  sha256,
  /** Uncompressed bytes. */
  size: z.number().int().nonnegative(),
  /** Compressed bytes as stored (format 2: the sum over its chunks). */
  storedSize: z.number().int().nonnegative(),
  /** When this file was copied: each SQLite file is its own point in time. */
  capturedAt: isoTime,
  /** Last modification time of the source file (or of its -wal), for `status`. */
  modifiedAt: isoTime.optional(),
  /** sha256 of the sorted table/column list (SQLite) or top-level key set (JSON). */
  schemaFingerprint: sha256,
  tables: z.array(tableCountSchema).max(MAX_TABLES_PER_SOURCE),
};

/** Format 1: the whole file is one gzip blob. */
const capturedSourceV1 = z.strictObject({ ...capturedFields, blobKey: z.string() });
/** Format 2: the file is its chunks, concatenated in the order listed. */
const capturedSourceV2 = z.strictObject({ ...capturedFields, chunks: z.array(chunkSchema).min(1).max(MAX_CHUNKS_PER_SOURCE) });

const uncapturedSource = z.strictObject({
  status: z.enum(['missing', 'failed']),
  sourceId: z.string().regex(SOURCE_ID_PATTERN, 'expected a source id like "v3-memory"'),
  kind: z.enum(SOURCE_KINDS as [string, ...string[]]),
  format: z.enum(SOURCE_FORMATS as [string, ...string[]]),
  role: z.enum(SOURCE_ROLES as [string, ...string[]]),
  path: relativePath,
  /** Plain words: what was wrong and what to do. */
  reason: z.string().min(1).max(4000),
  code: z.string().max(64).optional(),
});

const header = {
  snapshotId: z.string().regex(SNAPSHOT_ID_PATTERN, 'expected a ULID (26 characters, Crockford base32)'),
  env: z.string().regex(ENV_NAME_PATTERN, 'expected lowercase letters, digits, "-" or "_" (at most 63)'),
  createdAt: isoTime,
  tool: z.strictObject({ name: z.string().min(1).max(100), version: z.string().min(1).max(100) }),
  /** Host label (no user or path information); informational. */
  host: z.string().max(255).optional(),
};

type SourceForCheck = { status: string; sourceId: string; path: string; tables?: readonly { name: string }[]; sha256?: string; size?: number; blobKey?: string; chunks?: readonly z.infer<typeof chunkSchema>[] };

/** Rules across sources, and between a source and its blobs, that one field's schema cannot say. */
function checkSources(m: { sources: readonly SourceForCheck[] }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  // (source id, table) → the entry holding it: two files under one id with the same table would
  // overwrite each other's rows (same keys) and mark each other's rows missing
  const tableOwner = new Map<string, number>();
  m.sources.forEach((s, i) => {
    if (s.status === 'captured') {
      for (const t of s.tables ?? []) {
        const key = `${s.sourceId}\u0000${t.name}`;
        const other = tableOwner.get(key);
        if (other === undefined) tableOwner.set(key, i);
        else if (m.sources[other]?.path !== s.path) {
          ctx.addIssue({
            code: 'custom',
            path: ['sources', i, 'sourceId'],
            message: `"${s.sourceId}" is also the source id of sources[${other}] ("${m.sources[other]?.path}"), and both hold table "${t.name}": their rows would overwrite each other. Each path needs its own source id (aqe-upload gives one to every further path of a source); push again with it`,
          });
          break;
        }
      }
    }
    if (seen.has(s.path)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'path'], message: `duplicate path "${s.path}"` });
    seen.add(s.path);
    if (s.status !== 'captured') return;
    // zod still runs this refinement when a field already failed (non-aborting issues): a
    // malformed sha256 is reported by its own check, and blobKey() would throw on it.
    if (s.blobKey !== undefined && typeof s.sha256 === 'string' && SHA256_HEX.test(s.sha256)) {
      const expected = blobKey(s.sha256);
      if (s.blobKey !== expected) {
        ctx.addIssue({ code: 'custom', path: ['sources', i, 'blobKey'], message: `expected "${expected}" (derived from sha256), got "${s.blobKey}"` });
      }
    }
    if (Array.isArray(s.chunks)) {
      let total = 0;
      s.chunks.forEach((c, j) => {
        total += typeof c.size === 'number' ? c.size : 0;
        if (typeof c.sha256 === 'string' && SHA256_HEX.test(c.sha256) && (BLOB_CODECS as readonly string[]).includes(c.codec)) {
          const expected = blobKey(c.sha256, c.codec);
          if (c.blobKey !== expected) ctx.addIssue({ code: 'custom', path: ['sources', i, 'chunks', j, 'blobKey'], message: `expected "${expected}" (derived from sha256 and codec), got "${c.blobKey}"` });
        }
      });
      if (typeof s.size === 'number' && total !== s.size) {
        ctx.addIssue({ code: 'custom', path: ['sources', i, 'chunks'], message: `the chunks hold ${total} bytes in all, the file ${s.size}: a chunk list must add up to its file` });
      }
    }
  });
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

export const manifestSourceSchemaV1 = z.discriminatedUnion('status', [capturedSourceV1, uncapturedSource]);
export const manifestSourceSchema = z.discriminatedUnion('status', [capturedSourceV2, uncapturedSource]);

/** Format 1 (read only): one gzip blob per captured file. */
export const manifestSchemaV1 = z
  .strictObject({ formatVersion: z.literal(1), ...header, sources: z.array(manifestSourceSchemaV1).max(10_000) })
  .superRefine(checkSources);

/** Format 2 (written): chunks per captured file. */
export const manifestSchema = z
  .strictObject({ formatVersion: z.literal(MANIFEST_FORMAT_VERSION), ...header, sources: z.array(manifestSourceSchema).max(10_000) })
  .superRefine(checkSources);

export type ManifestV1 = z.infer<typeof manifestSchemaV1>;
export type ManifestV2 = z.infer<typeof manifestSchema>;
/** A manifest of any readable format. */
export type Manifest = ManifestV1 | ManifestV2;
export type ManifestSource = Manifest['sources'][number];
export type CapturedSource = Extract<ManifestSource, { status: 'captured' }>;
export type CapturedSourceV1 = Extract<ManifestV1['sources'][number], { status: 'captured' }>;
export type CapturedSourceV2 = Extract<ManifestV2['sources'][number], { status: 'captured' }>;
export type UncapturedSource = Extract<ManifestSource, { status: 'missing' | 'failed' }>;
export type TableCount = z.infer<typeof tableCountSchema>;
export type ChunkRef = z.infer<typeof chunkSchema>;

/**
 * The blobs that make up a captured file, in order (format 1: its one gzip blob).
 * @example for (const c of sourceChunks(src)) await fetch(c.blobKey)
 */
export function sourceChunks(source: CapturedSource): ChunkRef[] {
  if ('chunks' in source) return source.chunks;
  return [{ sha256: source.sha256, size: source.size, storedSize: source.storedSize, codec: 'gzip' satisfies BlobCodec, blobKey: source.blobKey }];
}

/** Every blob key a manifest needs. */
export function manifestBlobKeys(manifest: Manifest): string[] {
  const out = new Set<string>();
  for (const s of manifest.sources) if (s.status === 'captured') for (const c of sourceChunks(s)) out.add(c.blobKey);
  return [...out];
}

export type ParseManifestResult = { ok: true; manifest: Manifest } | { ok: false; issues: string[] };

/** Largest manifest accepted (a manifest lists files and their ~1 MiB chunks, not rows). */
export const MAX_MANIFEST_BYTES = 16 * 1024 * 1024;

/**
 * Validates manifest bytes or text. Every issue comes back at once, each naming its field:
 * `manifest.sources[2].sha256: expected 64 lowercase hex characters`.
 */
export function parseManifest(input: string | Uint8Array): ParseManifestResult {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.byteLength;
  if (size > MAX_MANIFEST_BYTES) return { ok: false, issues: [`manifest: ${size} bytes exceeds the ${MAX_MANIFEST_BYTES}-byte limit`] };
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    return { ok: false, issues: ['manifest: not valid UTF-8'] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, issues: [`manifest: not valid JSON (${describeJsonSyntaxError(err)})`] };
  }
  const version = json !== null && typeof json === 'object' && !Array.isArray(json) ? (json as { formatVersion?: unknown }).formatVersion : undefined;
  if (typeof version === 'number' && Number.isInteger(version) && version > MANIFEST_FORMAT_VERSION) {
    return {
      ok: false,
      issues: [`manifest.formatVersion: this loader reads format versions ${READABLE_FORMAT_VERSIONS.join(' and ')}, got ${version} (written by a newer aqe-upload): update the loader (deploy the functions) before the uploaders`],
    };
  }
  const parsed = (version === 1 ? manifestSchemaV1 : manifestSchema).safeParse(json);
  if (parsed.success) return { ok: true, manifest: parsed.data };
  return { ok: false, issues: parsed.error.issues.map((i) => `${formatPath(['manifest', ...i.path])}: ${i.message}`) };
}

/** Canonical bytes of a manifest (stable key order as declared, 2-space indent, trailing newline). */
export function serialiseManifest(manifest: Manifest): Buffer {
  const checked = manifest.formatVersion === 1 ? manifestSchemaV1.parse(manifest) : manifestSchema.parse(manifest);
  return Buffer.from(`${JSON.stringify(checked, null, 2)}\n`, 'utf8');
}

/** sha256 of the manifest bytes: the snapshot's identity for idempotency. */
export function manifestSha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
