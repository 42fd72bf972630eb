// Quarantine: a snapshot whose content is bad is set aside, never half-loaded. Its manifest is
// copied under quarantine/ with an error report beside it (in the bucket: what an operator reads),
// and the ledger records the quarantine row and the run as `quarantined` (so redeliveries are
// acknowledged). Returns the outcome; logging is the caller's.

import { type AppError, type ErrorCode, isAppError } from '../../../schema/errors.js';
import { quarantineManifestKey, quarantineReportKey } from '../../../schema/snapshot/object-keys.js';
import type { BlobStore } from '../../storage/blob-store.js';
import type { RunLedger } from './run-ledger.js';

/** Error codes that mean "this snapshot's content is bad": quarantine it, never retry. */
export const QUARANTINE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'MANIFEST_INVALID',
  'MANIFEST_ENV_MISMATCH',
  'MANIFEST_CLOCK_SKEW',
  'SNAPSHOT_TOO_LARGE',
  'CHECKSUM_MISMATCH',
  'BLOB_CORRUPT',
  'PARSE_FAILED',
  'VALUE_INVALID',
  'SOURCE_CORRUPT',
  'SOURCE_WRONG_KIND',
  'OBJECT_NOT_FOUND',
  'DB_DATA',
]);

/** True for an error that quarantines the snapshot (terminal, and the content's fault). */
export function isQuarantinable(err: unknown): err is AppError {
  return isAppError(err) && !err.transient && QUARANTINE_CODES.has(err.code);
}

export interface QuarantinedSnapshot {
  status: 'quarantined';
  manifestKey: string;
  manifestSha: string | null;
  env: string;
  snapshotId: string;
  code: ErrorCode;
  reason: string;
  reportKey: string;
}

/** The snapshot being quarantined: where its manifest is, and its bytes (copied as they arrived). */
export interface QuarantineSubject {
  manifestKey: string;
  manifestSha: string;
  env: string;
  snapshotId: string;
  bytes: Uint8Array;
}

/**
 * Quarantines the snapshot for `err` (an error isQuarantinable accepts). `scrub` removes the
 * loader's own paths from text that goes to the bucket and the database.
 */
export async function quarantineSnapshot(store: BlobStore, ledger: RunLedger, subject: QuarantineSubject, err: AppError, scrub: (text: string) => string = (t) => t): Promise<QuarantinedSnapshot> {
  const reason = scrub(err.message);
  const reportKey = quarantineReportKey(subject.env, subject.snapshotId);
  const report = {
    code: err.code,
    reason,
    manifestKey: subject.manifestKey,
    manifestSha: subject.manifestSha,
    env: subject.env,
    snapshotId: subject.snapshotId,
    transient: false,
    quarantinedAt: new Date().toISOString(),
    details: err.details ?? null,
    what_to_do: 'fix the source named above and push again; this snapshot will not be retried',
  };
  await store.put(quarantineManifestKey(subject.env, subject.snapshotId), Buffer.from(subject.bytes), { contentType: 'application/json' });
  await store.put(reportKey, Buffer.from(`${JSON.stringify(report, null, 2)}\n`), { contentType: 'application/json' });
  await ledger.recordQuarantine({
    env: subject.env,
    snapshotId: subject.snapshotId,
    manifestKey: subject.manifestKey,
    manifestSha: subject.manifestSha,
    code: err.code,
    reason,
    transient: false,
    report,
  });
  await ledger.recordFailure({ ...runOf(subject), status: 'quarantined', error: `${err.code}: ${reason}` });
  return { status: 'quarantined', manifestKey: subject.manifestKey, manifestSha: subject.manifestSha, env: subject.env, snapshotId: subject.snapshotId, code: err.code, reason, reportKey };
}

function runOf(s: QuarantineSubject) {
  return { manifestSha: s.manifestSha, env: s.env, snapshotId: s.snapshotId, manifestKey: s.manifestKey, snapshotCreatedAt: null };
}
