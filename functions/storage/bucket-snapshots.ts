// The snapshots a bucket holds, grouped by environment: every top-level manifest key under
// `snapshots/`, parsed by the object-key contract (schema/snapshot/object-keys.ts).

import { parseManifestKey, SNAPSHOT_PREFIX } from '../../schema/snapshot/object-keys.js';
import type { BlobStore } from './blob-store.js';

/** One manifest in the bucket. */
export interface BucketSnapshot {
  key: string;
  snapshotId: string;
  size: number;
  /** The bucket's own time for the object (its creation/update time). */
  updated: Date;
}

/** Environments with at least one snapshot in the bucket, with their snapshot ids (oldest first). */
export async function bucketSnapshots(store: BlobStore): Promise<Map<string, BucketSnapshot[]>> {
  const byEnv = new Map<string, BucketSnapshot[]>();
  for await (const info of store.list(SNAPSHOT_PREFIX)) {
    const parts = parseManifestKey(info.key);
    if (parts === null || parts.prefix !== '') continue;
    const list = byEnv.get(parts.env) ?? [];
    list.push({ key: info.key, snapshotId: parts.snapshotId, size: info.size, updated: info.updated });
    byEnv.set(parts.env, list);
  }
  for (const list of byEnv.values()) list.sort((a, b) => (a.snapshotId < b.snapshotId ? -1 : a.snapshotId > b.snapshotId ? 1 : 0));
  return new Map([...byEnv.entries()].sort(([a], [b]) => a.localeCompare(b)));
}
