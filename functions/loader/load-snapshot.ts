// The loader: one manifest key → its snapshot merged into PostgreSQL in ONE transaction, or
// acknowledged (already loaded), or quarantined with nothing written, or failed (recorded, for a
// retry). The stages, as dlt's extract / normalize / load:
//   fetch (read/fetch-snapshot.ts: manifest, checks, blobs verified into a scratch folder)
//   → read (read/read-snapshot-source.ts, one source open at a time)
//   → map (map/target-rows.ts: rows per target table with their search text)
//   → write (write/write-snapshot.ts: lock, run, COPY + merge per table, state; COMMIT)
//   → embed new text within the time budget (derived data, after the commit).
// Every stage's failure comes back as a value; this file decides which ones quarantine and logs.

import { tmpdir } from 'node:os';
import { rm } from 'node:fs/promises';
import { AppError, errorMessage, isAppError } from '../../schema/errors.js';
import { parseManifestKey } from '../../schema/snapshot/object-keys.js';
import type { Database } from '../db/database.js';
import { ensureMigrated } from '../db/migrate.js';
import { type BackfillResult, backfillEmbeddings } from '../embed/backfill-embeddings.js';
import { silentLogger } from '../observability/logger.js';
import { makeScratchDir } from '../runtime/scratch-dir.js';
import { formatWarning, targetRows } from './map/target-rows.js';
import { DEFAULT_LOAD_LIMITS } from './policy/load-limits.js';
import { DEFAULT_CLOCK_SKEW_TOLERANCE_MS } from './policy/snapshot-clock.js';
import { type CheckedManifest, checkManifest, type FetchedManifest, fetchManifest, fetchSources } from './read/fetch-snapshot.js';
import { readSnapshotSource } from './read/read-snapshot-source.js';
import type { TableMergeCounts } from './write/merge-table-rows.js';
import type { FailedLoad, LoaderDeps, LoadOutcome, LoadResult } from './load-result.js';
import { isQuarantinable, type QuarantinedSnapshot, quarantineSnapshot } from './write/quarantine-snapshot.js';
import { needsLoad, RunLedger, totalCounts } from './write/run-ledger.js';
import { writeSnapshot } from './write/write-snapshot.js';

export type { DuplicateSnapshot, EmbeddingStage, FailedLoad, LoadedSnapshot, LoaderDeps, LoadOutcome, LoadProgress, LoadResult, QuarantinedSnapshot } from './load-result.js';

/**
 * Loads the snapshot whose manifest is at `manifestKey` (relative to the store's root); never
 * throws for a failed load: see `status`.
 * @example const r = await runLoad({ store, db, log }, 'snapshots/laptop/01J…/manifest.json'); if (r.status === 'failed' && r.transient) retryLater();
 */
export async function runLoad(deps: LoaderDeps, manifestKey: string): Promise<LoadResult> {
  const log = deps.log ?? silentLogger;
  const started = performance.now();
  const parts = parseManifestKey(manifestKey);
  const env = parts?.env ?? '';
  const snapshotId = parts?.snapshotId ?? '';
  const where = { env, snapshotId, manifestKey };
  const failed = (err: unknown, recorded = false): FailedLoad => {
    log.error('snapshot load failed', { event: 'sync_failed', ...where, error: err });
    const app = isAppError(err) ? err : null;
    return { status: 'failed', ...where, code: app?.code ?? 'INTERNAL', reason: errorMessage(err), transient: app ? app.transient : true, recorded, error: err };
  };
  if (parts?.prefix !== '') return failed(new AppError('USAGE', `${manifestKey}: not a snapshot manifest key (snapshots/<env>/<snapshotId>/manifest.json)`));

  // fetch: the manifest and its identity; a delivery of a manifest already done is acknowledged
  const ledger = new RunLedger(deps.db);
  let fetched: FetchedManifest;
  let db: Database;
  try {
    fetched = await fetchManifest(deps.store, manifestKey);
    db = await ensureMigrated(deps.db);
    const existing = await ledger.find(fetched.manifestSha);
    if (existing && !needsLoad(existing)) return { status: 'duplicate', manifestKey, manifestSha: fetched.manifestSha, runId: existing.id, previousStatus: existing.status };
  } catch (err) {
    return failed(err);
  }
  const { bytes, manifestSha } = fetched;
  // what goes to the bucket and the database names no path of the loader's machine
  const scrub = (text: string) => [deps.tmpDir, tmpdir()].reduce<string>((t, dir) => (dir && dir.length > 1 ? t.split(dir).join('<scratch>') : t), text);
  // a content problem quarantines the snapshot; another terminal one is recorded for a retry
  const settle = async (err: unknown): Promise<QuarantinedSnapshot | FailedLoad> => {
    if (isQuarantinable(err)) {
      try {
        const q = await quarantineSnapshot(deps.store, ledger, { ...where, manifestSha, bytes }, err, scrub);
        log.error('snapshot quarantined', { event: 'sync_quarantined', ...where, code: q.code, reason: q.reason });
        return q;
      } catch (quarantineErr) {
        return failed(quarantineErr);
      }
    }
    if (!isAppError(err) || err.transient) return failed(err);
    // terminal but not the snapshot's fault (e.g. a schema problem): recorded, the caller decides
    try {
      await ledger.recordFailure({ manifestSha, ...where, snapshotCreatedAt: null, status: 'failed', error: scrub(err.message) });
    } catch (recordErr) {
      log.error('could not record the failed load', { event: 'sync_failure_unrecorded', ...where, error: recordErr });
      return failed(err, false);
    }
    return failed(err, true);
  };

  const now = (deps.now ?? (() => new Date()))();
  const toleranceMs = deps.clockSkewToleranceMs ?? DEFAULT_CLOCK_SKEW_TOLERANCE_MS;
  let checked: CheckedManifest;
  try {
    checked = await checkManifest(deps.store, { key: manifestKey, env, snapshotId, bytes }, { now, toleranceMs }, { ...DEFAULT_LOAD_LIMITS, ...deps.limits });
  } catch (err) {
    return settle(err);
  }
  const { manifest, captured, orderAt, bound } = checked;

  let scratch: string;
  try {
    scratch = await makeScratchDir('load', deps.tmpDir ?? tmpdir());
  } catch (err) {
    return failed(err);
  }
  let runId: number;
  let tables: Record<string, TableMergeCounts>;
  const warnings: string[] = manifest.sources.filter((s) => s.status === 'failed').map((s) => `${s.path}: not captured by the uploader (${s.status === 'failed' ? s.reason : ''})`);
  try {
    // every blob verified before anything is written
    const files = await fetchSources(deps.store, captured, scratch, (done, total) => deps.onProgress?.({ phase: 'verify', done, total }));
    const written = await writeSnapshot(db, {
      run: { manifestSha, ...where, snapshotCreatedAt: new Date(manifest.createdAt), orderedAt: orderAt },
      bound,
      sources: files.map(({ source, file }) => ({ source, read: () => readSnapshotSource(source, file) })),
      rowsFor: targetRows,
      describeWarning: formatWarning,
      onProgress: (done, total) => deps.onProgress?.({ phase: 'merge', done, total }),
    });
    if (written.status === 'done') return { status: 'duplicate', manifestKey, manifestSha, runId: written.run.id, previousStatus: written.run.status };
    ({ runId, tables } = written);
    warnings.push(...written.warnings);
  } catch (err) {
    return settle(err);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  const totals = totalCounts(tables);
  log.info('snapshot loaded', { event: 'sync_succeeded', ...where, runId, rows: totals, durationMs: Math.round(performance.now() - started) });

  // derived data after the commit: embeddings of new/changed text, within the budget
  let embedding: BackfillResult | null = null;
  if (deps.embedding) {
    deps.onProgress?.({ phase: 'embed', done: 0, total: 0 });
    try {
      embedding = await backfillEmbeddings(db, {
        embedder: deps.embedding.embedder,
        budgetMs: deps.embedding.budgetMs,
        env,
        ...(deps.embedding.unavailableReason ? { unavailableReason: deps.embedding.unavailableReason } : {}),
      });
    } catch (err) {
      return failed(err);
    }
    if (embedding.warning) warnings.push(embedding.warning);
    if (embedding.pending > 0) log.notice('embeddings pending', { event: 'embeddings_pending', env, pending: embedding.pending });
  }
  return { status: 'loaded', manifestKey, manifestSha, runId, env, snapshotId, totals, tables, warnings, embedding, durationMs: Math.round(performance.now() - started) };
}

/**
 * runLoad for callers that want a failure thrown (the platform redelivers a thrown event).
 * @example const outcome = await loadSnapshot({ store, db, log }, 'snapshots/laptop/01J…/manifest.json');
 */
export async function loadSnapshot(deps: LoaderDeps, manifestKey: string): Promise<LoadOutcome> {
  const result = await runLoad(deps, manifestKey);
  if (result.status === 'failed') throw result.error;
  return result;
}
