// Which environments exist: the ones a database has loaded, the ones a bucket holds snapshots of,
// and the sentence a command prints when it is run for an environment that never pushed.

import type { Queryable } from '../../functions/db/database.js';
import { RunLedger } from '../../functions/loader/write/run-ledger.js';

/** The bucket's snapshots by environment (lives in functions/storage/, below local/, which needs it too). */
export { bucketSnapshots, type BucketSnapshot } from '../../functions/storage/bucket-snapshots.js';

/** Environments with at least one load (any outcome) in the database, sorted. */
export async function databaseEnvironments(db: Queryable): Promise<string[]> {
  return new RunLedger(db).environments();
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
