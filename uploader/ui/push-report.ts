// Human and JSON renderings of a push result (its warnings apart, for stderr). Pure.

import type { PushResult } from '../push/run-push.js';
import { formatBytes, renderTable } from './format.js';

/** The push result for --json: everything but the full manifest (its key and sha identify it). */
export function pushResultJson(result: PushResult): Record<string, unknown> {
  const { manifest: _manifest, ...rest } = result;
  return rest;
}

/** The warnings of a push (for stderr: results go to stdout, warnings do not). */
export function pushWarnings(r: PushResult): string[] {
  return r.sources.flatMap((s) => s.warnings);
}

export function renderPushResult(r: PushResult): string {
  const rows = r.sources.map((s) => [
    s.sourceId,
    s.status === 'captured' ? (s.newBlob ? (r.dryRun ? 'new' : 'uploaded') : 'stored') : s.status.toUpperCase(),
    s.status === 'captured' ? formatBytes(s.size) : '-',
    s.status === 'captured' && s.newBlob && !r.dryRun ? formatBytes(s.uploadedBytes) : '-',
    s.path,
  ]);
  const out = [renderTable(['SOURCE', 'BLOB', 'SIZE', 'SENT (gzip)', 'PATH'], rows, new Set([2, 3])), ''];
  const t = r.totals;
  const failed = r.sources.filter((s) => s.status === 'failed');
  if (failed.length > 0) out.push('Not captured:', ...failed.map((s) => `  - ${s.reason ?? s.path}`), '');
  if (r.dryRun) {
    out.push(
      `Dry run: ${t.captured} files (${formatBytes(t.bytes)}); ${t.newBlobs} new blobs would be uploaded (${formatBytes(t.newBytes)} before compression), ${formatBytes(t.skippedBytes)} already stored in ${r.bucket}.`,
      'Nothing was written.',
    );
  } else if (r.unchanged) {
    out.push(`Unchanged since snapshot ${r.previousSnapshotId}: nothing written to ${r.bucket}.`);
  } else {
    out.push(
      `Snapshot ${r.snapshotId} (env ${r.env}) committed to ${r.bucket}`,
      `  manifest ${r.manifestKey} (sha256 ${r.manifestSha256})`,
      `  ${t.captured} captured, ${t.missing} missing, ${t.failed} failed; sent ${formatBytes(t.uploadedBytes)} in ${t.newBlobs} new blobs, ${formatBytes(t.skippedBytes)} already stored; ${(r.durationMs / 1000).toFixed(1)} s`,
    );
  }
  if (r.partial) out.push('', `Some sources could not be captured (listed above and in the manifest as "failed").`);
  return `${out.join('\n')}\n`;
}
