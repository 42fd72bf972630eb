// One line per push of `aqe-upload watch`: the report as data, as text and as a JSON line. Pure.

import type { LoadOutcome } from '../../functions/loader/load-snapshot.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import type { PushAndLoadResult } from '../local/push-and-load.js';
import { formatBytes } from '../ui/format.js';
import { formatDuration } from './duration.js';
import type { PushReason } from './watch-scheduler.js';

/** What one push of the watch did. */
export interface WatchReport {
  at: Date;
  reason: PushReason;
  /** The watched paths seen changing before this push (absolute; empty for start and interval pushes). */
  triggers: string[];
  ok: boolean;
  /** Workspace-relative paths whose content was new to the bucket (their blobs were sent). */
  changedFiles: string[];
  /** Compressed bytes sent. */
  bytesSent: number;
  manifestKey: string | null;
  snapshotId: string | null;
  /** Some sources could not be captured (the manifest lists them as failed). */
  partial: boolean;
  /** The local load's status (local bucket), or null. */
  load: { status: LoadOutcome['status']; reason?: string } | null;
  error: { code: string; message: string; transient: boolean } | null;
  /** After a failure: when the next attempt comes. */
  retryInMs: number | null;
  durationMs: number;
}

/** The report of a push that finished. */
export function successReport(result: PushAndLoadResult, reason: PushReason, at: Date, durationMs: number, triggers: string[] = []): WatchReport {
  const { push, load } = result;
  return {
    at,
    reason,
    triggers,
    ok: true,
    changedFiles: push.sources.filter((s) => s.status === 'captured' && s.newBlob).map((s) => s.path),
    bytesSent: push.totals.uploadedBytes,
    manifestKey: push.manifestKey,
    snapshotId: push.manifestWritten ? push.snapshotId : null,
    partial: push.partial,
    load: load === null ? null : { status: load.status, ...(load.status === 'quarantined' ? { reason: load.reason } : {}) },
    error: null,
    retryInMs: null,
    durationMs,
  };
}

/** The report of a push that failed. */
export function failureReport(err: unknown, reason: PushReason, at: Date, durationMs: number, triggers: string[], retryInMs: number | null): WatchReport {
  return {
    at,
    reason,
    triggers,
    ok: false,
    changedFiles: [],
    bytesSent: 0,
    manifestKey: null,
    snapshotId: null,
    partial: false,
    load: null,
    error: err instanceof AppError ? { code: err.code, message: err.message, transient: err.transient } : { code: 'INTERNAL', message: errorMessage(err), transient: false },
    retryInMs,
    durationMs,
  };
}

/**
 * One line of text.
 * @example "2025-01-06T14:03:07Z push (change): 2 files changed, 14.2 KB sent, snapshots/laptop/01J….json; loaded"
 */
export function renderWatchLine(r: WatchReport): string {
  const time = `${r.at.toISOString().slice(0, 19)}Z`;
  if (!r.ok) {
    const firstLine = (r.error?.message ?? 'unknown error').split('\n')[0];
    const retry = r.retryInMs === null ? '' : `; retrying in ${formatDuration(r.retryInMs)}`;
    return `${time} push (${r.reason}) FAILED: ${r.error?.code ?? 'INTERNAL'}: ${firstLine}${retry}\n`;
  }
  const n = r.changedFiles.length;
  const parts = [`${n} file${n === 1 ? '' : 's'} changed`, `${formatBytes(r.bytesSent)} sent`, r.manifestKey ?? 'no manifest written'];
  let line = `${time} push (${r.reason}): ${parts.join(', ')}`;
  if (r.partial) line += '; some sources could not be captured';
  if (r.load !== null) line += r.load.status === 'quarantined' ? `; load QUARANTINED: ${r.load.reason ?? ''}` : `; load ${r.load.status}`;
  return `${line}\n`;
}

/** One JSON line. */
export function watchReportJson(r: WatchReport): string {
  return `${JSON.stringify({ ...r, at: r.at.toISOString() })}\n`;
}
