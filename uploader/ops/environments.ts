// Which environments exist: the ones a database has loaded, the ones a bucket holds snapshots of,
// and the sentence a command prints when it is run for an environment that never pushed.

import type { Queryable } from '../../functions/db/database.js';
import { RunLedger } from '../../functions/loader/write/run-ledger.js';
import type { BlobStore } from '../../functions/storage/blob-store.js';
import { parseManifestKey, SNAPSHOT_PREFIX } from '../../schema/snapshot/object-keys.js';

/** Environments with at least one load (any outcome) in the database, sorted. */
export async function databaseEnvironments(db: Queryable): Promise<string[]> {
  return new RunLedger(db).environments();
}

/** Environments with at least one snapshot in the bucket, with their snapshot ids (oldest first). */
export async function bucketSnapshots(store: BlobStore): Promise<Map<string, Array<{ key: string; snapshotId: string; size: number; updated: Date }>>> {
  const byEnv = new Map<string, Array<{ key: string; snapshotId: string; size: number; updated: Date }>>();
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

/**
 * `environment "local" has never pushed here; environments: laptop, ci` (or that none has), for a
 * command run for an environment `known` does not hold. Null when it is known.
 */
export function unknownEnvironmentNote(env: string, known: readonly string[], where: string): string | null {
  if (known.includes(env)) return null;
  if (known.length === 0) return `environment "${env}" has never pushed to ${where}, and no environment has yet`;
  return `environment "${env}" has never pushed to ${where}; environments there: ${known.join(', ')}`;
}
