// From capture outcomes to the manifest, and the comparison with the previous snapshot of the
// environment that `--skip-unchanged` relies on. Pure.

import type { ErrorCode } from '../../schema/errors.js';
import type { ChunkRef, ManifestV2, TableCount } from '../../schema/snapshot/manifest.js';
import { MANIFEST_FORMAT_VERSION } from '../../schema/snapshot/manifest.js';
import type { DiscoveredFile } from '../workspace/discover.js';

/** One source file's part of a snapshot, as the push decided it. */
export type PlannedEntry =
  | {
      status: 'captured';
      file: DiscoveredFile;
      sha256: string;
      size: number;
      storedSize: number;
      /** The file's content-defined chunks, in order. */
      chunks: ChunkRef[];
      capturedAt: Date;
      modifiedAt: Date | undefined;
      schemaFingerprint: string;
      tables: TableCount[];
    }
  | { status: 'missing' | 'failed'; file: DiscoveredFile; reason: string; code: ErrorCode | undefined };

export interface ManifestHeader {
  snapshotId: string;
  env: string;
  createdAt: Date;
  tool: { name: string; version: string };
  /** Recorded only when configured. */
  host?: string | undefined;
}

/**
 * The manifest of a snapshot. Entries keep the order given (discovery order); excluded and
 * disabled files are not entries (the user chose to leave them out).
 */
export function planManifest(header: ManifestHeader, entries: readonly PlannedEntry[]): ManifestV2 {
  return {
    formatVersion: MANIFEST_FORMAT_VERSION,
    snapshotId: header.snapshotId,
    env: header.env,
    createdAt: header.createdAt.toISOString(),
    tool: header.tool,
    ...(header.host === undefined ? {} : { host: header.host }),
    sources: entries.map(toManifestSource),
  };
}

function toManifestSource(e: PlannedEntry): ManifestV2['sources'][number] {
  const common = { sourceId: e.file.sourceId, kind: e.file.kind, format: e.file.format, role: e.file.spec.role, path: e.file.path };
  if (e.status === 'captured') {
    return {
      status: 'captured',
      ...common,
      sha256: e.sha256,
      size: e.size,
      storedSize: e.storedSize,
      capturedAt: e.capturedAt.toISOString(),
      ...(e.modifiedAt === undefined ? {} : { modifiedAt: e.modifiedAt.toISOString() }),
      schemaFingerprint: e.schemaFingerprint,
      tables: e.tables,
      chunks: e.chunks,
    };
  }
  return { status: e.status, ...common, reason: e.reason.slice(0, 4000), ...(e.code === undefined ? {} : { code: e.code }) };
}

/**
 * `text` without this machine's paths: the workspace root (paths become workspace-relative), the
 * temp folder and the home folder. Failure reasons go to the bucket and the cloud database; where
 * a workspace lives on someone's disk does not.
 * @example withoutLocalPaths("EACCES: open '/home/me/ws/v3/x.db'", { workspace: '/home/me/ws', temp: '/tmp', home: '/home/me' }) // "EACCES: open 'v3/x.db'"
 */
export function withoutLocalPaths(text: string, roots: { workspace: readonly string[]; temp: string; home: string }): string {
  let out = text;
  for (const w of [...roots.workspace].sort((a, b) => b.length - a.length)) {
    if (w.length > 1) out = out.split(`${w}/`).join('').split(w).join('.');
  }
  if (roots.temp.length > 1) out = out.split(roots.temp).join('<temp>');
  if (roots.home.length > 1) out = out.split(roots.home).join('~');
  return out;
}

/**
 * The content identity of a manifest: what was captured (path → sha256) and what was not
 * (path → status and code), ignoring ids, times and stored sizes. Two snapshots with the same
 * content identity hold the same data.
 */
export function contentIdentity(manifest: { sources: readonly ContentFields[] }): string {
  return manifest.sources
    .map((s) => (s.status === 'captured' ? `${s.sourceId}\t${s.path}\tcaptured\t${s.sha256}` : `${s.sourceId}\t${s.path}\t${s.status}\t${s.code ?? ''}`))
    .sort()
    .join('\n');
}

/** The fields of a manifest source that make its content identity. */
export type ContentFields = { sourceId: string; path: string } & ({ status: 'captured'; sha256: string } | { status: 'missing' | 'failed'; code?: string | undefined });

/** True when `next` holds exactly what `previous` holds (see contentIdentity). */
export function sameContent(previous: { sources: readonly ContentFields[] }, next: { sources: readonly ContentFields[] }): boolean {
  return contentIdentity(previous) === contentIdentity(next);
}
