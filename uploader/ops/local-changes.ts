// The workspace side of `aqe-upload status`: which sources changed since the environment's last
// pushed snapshot, by comparing each file's modification time (SQLite: the later of the file and
// its -wal) and size with what the latest manifest recorded. Cheap: nothing is copied or hashed.

import { stat } from 'node:fs/promises';
import type { BlobStore } from '../../functions/storage/blob-store.js';
import type { UploaderConfig } from '../config.js';
import { findLatestManifest } from '../push/previous-manifest.js';
import { discoverSources } from '../workspace/discover.js';

export type LocalSourceState = 'changed' | 'unchanged' | 'new' | 'gone' | 'not-captured';

export interface LocalSourceChange {
  sourceId: string;
  path: string;
  state: LocalSourceState;
  modifiedAt: string | null;
  pushedModifiedAt: string | null;
}

export interface LocalChanges {
  workspace: string;
  env: string;
  lastPush: { snapshotId: string; createdAt: string; ageSeconds: number } | null;
  sources: LocalSourceChange[];
  changed: number;
}

/** Compares the workspace's sources with the latest manifest of `config.env` in `store`. */
export async function readLocalChanges(config: Pick<UploaderConfig, 'workspace' | 'env' | 'sources' | 'exclude'>, store: BlobStore, now = new Date()): Promise<LocalChanges> {
  const discovered = (await discoverSources(config)).filter((f) => f.state !== 'excluded' && f.state !== 'disabled');
  const latest = await findLatestManifest(store, config.env);
  const pushed = new Map((latest?.manifest.sources ?? []).map((s) => [s.path, s]));
  const sources: LocalSourceChange[] = [];
  for (const f of discovered) {
    const before = pushed.get(f.path);
    pushed.delete(f.path);
    const modifiedAt = f.modifiedAt?.toISOString() ?? null;
    if (f.state !== 'present') {
      if (before?.status === 'captured') sources.push({ sourceId: f.sourceId, path: f.path, state: 'gone', modifiedAt: null, pushedModifiedAt: before.modifiedAt ?? null });
      continue;
    }
    if (!latest || !before) {
      sources.push({ sourceId: f.sourceId, path: f.path, state: 'new', modifiedAt, pushedModifiedAt: null });
      continue;
    }
    if (before.status !== 'captured') {
      sources.push({ sourceId: f.sourceId, path: f.path, state: 'not-captured', modifiedAt, pushedModifiedAt: null });
      continue;
    }
    const pushedAt = before.modifiedAt ?? null;
    // Writes before the capture started are in the snapshot; later ones are not.
    const contentAt = await contentModifiedAt(f.absPath, f.kind);
    const changed = contentAt === null || contentAt.getTime() > new Date(before.capturedAt).getTime();
    sources.push({ sourceId: f.sourceId, path: f.path, state: changed ? 'changed' : 'unchanged', modifiedAt: contentAt?.toISOString() ?? modifiedAt, pushedModifiedAt: pushedAt });
  }
  for (const [path, s] of pushed) {
    if (s.status === 'captured') sources.push({ sourceId: s.sourceId, path, state: 'gone', modifiedAt: null, pushedModifiedAt: s.modifiedAt ?? null });
  }
  return {
    workspace: config.workspace,
    env: config.env,
    lastPush: latest
      ? { snapshotId: latest.manifest.snapshotId, createdAt: latest.manifest.createdAt, ageSeconds: Math.max(0, Math.round((now.getTime() - new Date(latest.manifest.createdAt).getTime()) / 1000)) }
      : null,
    sources,
    changed: sources.filter((s) => s.state !== 'unchanged').length,
  };
}

/**
 * When the content of a file last changed: its mtime, and for SQLite the -wal's when the -wal holds
 * frames (opening a WAL database, as every capture does, creates an empty -wal: not a change).
 */
async function contentModifiedAt(absPath: string, kind: string): Promise<Date | null> {
  try {
    const main = await stat(absPath);
    let at = main.mtime;
    if (kind === 'sqlite') {
      const wal = await stat(`${absPath}-wal`).catch(() => null);
      if (wal && wal.size > 0 && wal.mtime > at) at = wal.mtime;
    }
    return at;
  } catch {
    return null;
  }
}
