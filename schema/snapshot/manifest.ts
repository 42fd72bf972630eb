// The snapshot manifest: a versioned, schema-validated JSON document listing every source file of
// one snapshot. The uploader writes it last (commit point); the loader validates it before reading
// anything else. Pure: parse / serialise only.

import { createHash } from 'node:crypto';
import { z } from 'zod';
import { describeJsonSyntaxError } from '../json-syntax.js';
import { ENV_NAME_PATTERN, SOURCE_FORMATS, SOURCE_ID_PATTERN, SOURCE_KINDS, SOURCE_ROLES } from '../sources/catalogue.js';
import { blobKey, SNAPSHOT_ID_PATTERN } from './object-keys.js';

export const MANIFEST_FORMAT_VERSION = 1;

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

const capturedSource = z.strictObject({
  status: z.literal('captured'),
  sourceId: z.string().regex(SOURCE_ID_PATTERN, 'expected a source id like "v3-memory"'),
  kind: z.enum(SOURCE_KINDS as [string, ...string[]]),
  format: z.enum(SOURCE_FORMATS as [string, ...string[]]),
  role: z.enum(SOURCE_ROLES as [string, ...string[]]),
  path: relativePath,
  sha256,
  /** Uncompressed bytes. */
  size: z.number().int().nonnegative(),
  /** Compressed bytes as stored (the blob may have been stored by an earlier push). */
  storedSize: z.number().int().nonnegative(),
  blobKey: z.string(),
  /** When this file was copied: each SQLite file is its own point in time. */
  capturedAt: isoTime,
  /** Last modification time of the source file (or of its -wal), for `status`. */
  modifiedAt: isoTime.optional(),
  /** sha256 of the sorted table/column list (SQLite) or top-level key set (JSON). */
  schemaFingerprint: sha256,
  tables: z.array(tableCountSchema).max(MAX_TABLES_PER_SOURCE),
});

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

export const manifestSourceSchema = z.discriminatedUnion('status', [capturedSource, uncapturedSource]);

export const manifestSchema = z
  .strictObject({
    formatVersion: z.literal(MANIFEST_FORMAT_VERSION),
    snapshotId: z.string().regex(SNAPSHOT_ID_PATTERN, 'expected a ULID (26 characters, Crockford base32)'),
    env: z.string().regex(ENV_NAME_PATTERN, 'expected lowercase letters, digits, "-" or "_" (at most 63)'),
    createdAt: isoTime,
    tool: z.strictObject({ name: z.string().min(1).max(100), version: z.string().min(1).max(100) }),
    /** Host label (no user or path information); informational. */
    host: z.string().max(255).optional(),
    sources: z.array(manifestSourceSchema).max(10_000),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    // (source id, table) → the entry holding it: two files under one id with the same table would
    // overwrite each other's rows (same keys) and mark each other's rows missing
    const tableOwner = new Map<string, number>();
    m.sources.forEach((s, i) => {
      if (s.status === 'captured') {
        for (const t of s.tables) {
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
      // zod still runs this refinement when a field already failed (non-aborting issues): a
      // malformed sha256 is reported by its own check, and blobKey() would throw on it.
      if (s.status === 'captured' && /^[0-9a-f]{64}$/.test(s.sha256)) {
        const expected = blobKey(s.sha256);
        if (s.blobKey !== expected) {
          ctx.addIssue({ code: 'custom', path: ['sources', i, 'blobKey'], message: `expected "${expected}" (derived from sha256), got "${s.blobKey}"` });
        }
      }
    });
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestSource = z.infer<typeof manifestSourceSchema>;
export type CapturedSource = Extract<ManifestSource, { status: 'captured' }>;
export type UncapturedSource = Extract<ManifestSource, { status: 'missing' | 'failed' }>;
export type TableCount = z.infer<typeof tableCountSchema>;

export type ParseManifestResult = { ok: true; manifest: Manifest } | { ok: false; issues: string[] };

/** Largest manifest accepted (a manifest lists files, not rows). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

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
  const parsed = manifestSchema.safeParse(json);
  if (parsed.success) return { ok: true, manifest: parsed.data };
  return { ok: false, issues: parsed.error.issues.map((i) => `${formatPath(['manifest', ...i.path])}: ${i.message}`) };
}

/** Canonical bytes of a manifest (stable key order as declared, 2-space indent, trailing newline). */
export function serialiseManifest(manifest: Manifest): Buffer {
  const checked = manifestSchema.parse(manifest);
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
