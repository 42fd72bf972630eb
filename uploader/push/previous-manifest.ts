// The latest snapshot of an environment in a store: the manifest under `snapshots/<env>/` with the
// greatest snapshot id (ULIDs sort by time).

import type { BlobStore } from '../../functions/storage/blob-store.js';
import type { Manifest } from '../../schema/snapshot/manifest.js';
import { parseManifest } from '../../schema/snapshot/manifest.js';
import { envSnapshotPrefix, parseManifestKey } from '../../schema/snapshot/object-keys.js';

export interface PreviousManifest {
  key: string;
  manifest: Manifest;
}

/** The latest valid manifest of `env`, or null when the environment has none (invalid ones are passed over). */
export async function findLatestManifest(store: BlobStore, env: string): Promise<PreviousManifest | null> {
  const candidates: Array<{ key: string; snapshotId: string }> = [];
  for await (const info of store.list(envSnapshotPrefix(env))) {
    const parts = parseManifestKey(info.key);
    if (parts !== null && parts.env === env && parts.prefix === '') candidates.push({ key: info.key, snapshotId: parts.snapshotId });
  }
  candidates.sort((a, b) => (a.snapshotId < b.snapshotId ? 1 : a.snapshotId > b.snapshotId ? -1 : 0));
  for (const c of candidates) {
    const parsed = parseManifest(await store.get(c.key));
    if (parsed.ok && parsed.manifest.env === env) return { key: c.key, manifest: parsed.manifest };
  }
  return null;
}
