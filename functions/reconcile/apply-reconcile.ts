// The reconcile applier: gathers the planner's inputs (bucket listings; runs and open quarantine
// read through the run ledger),
// carries out the plan (loads through the normal loader, retries, embedding backfill, deletions)
// and reports. Every item's failure is recorded in the report; nothing is logged and dropped.

import { AppError, errorMessage, isAppError } from '../../schema/errors.js';
import { BLOB_PREFIX, QUARANTINE_PREFIX, SNAPSHOT_PREFIX, parseManifestKey } from '../../schema/snapshot/object-keys.js';
import type { DatabaseConnection } from '../db/database.js';
import { type BackfillResult, backfillEmbeddings } from '../embed/backfill-embeddings.js';
import type { Embedder } from '../embed/embedder.js';
import { ensureMigrated } from '../db/migrate.js';
import { runLoad } from '../loader/load-snapshot.js';
import { RunLedger } from '../loader/write/run-ledger.js';
import type { Logger } from '../observability/logger.js';
import { LOG_EVENTS } from '../entry-points.js';
import type { BlobStore } from '../storage/blob-store.js';
import {
  type BlobPlan,
  blobKeysIn,
  type LeftQuarantined,
  type ManifestDeletion,
  type ManifestObject,
  type PlannedLoad,
  planBlobDeletions,
  planReconcile,
  planStaleness,
  RECONCILE_STEPS,
  type ReconcilePolicy,
  type ReconcileStep,
  type RunRecord,
  type StalenessReport,
  type StoredObject,
} from './plan-reconcile.js';

export interface ReconcileDeps {
  store: BlobStore;
  /** Runs `fn` with the database (the function runtime retries once with a fresh pool after a password rotation). */
  withDb<T>(fn: (db: DatabaseConnection) => Promise<T>): Promise<T>;
  /** The embedder for the backfill step (null + reason when no model can be loaded). */
  embedder(): Promise<{ embedder: Embedder | null; reason?: string }>;
  log: Logger;
  now?: () => Date;
  /** Progress of the load and retry steps (a CLI's progress line). */
  onProgress?: (p: { step: 'load' | 'retry'; done: number; total: number }) => void;
  policy: ReconcilePolicy & {
    /** Work budget of one run; loads stop starting and the backfill stops when it is used up. */
    budgetMs: number;
  };
}

export interface ReconcileOptions {
  /** Report what would be done; change nothing. */
  dryRun?: boolean;
  /** Only these steps (default: all). */
  only?: readonly ReconcileStep[];
}

export interface LoadReport {
  manifestKey: string;
  env: string;
  snapshotId: string;
  reason: PlannedLoad['reason'];
  status: 'planned' | 'loaded' | 'duplicate' | 'quarantined' | 'error' | 'not_started_budget';
  error?: { code: string; message: string; transient: boolean };
}

export interface ReconcileReport {
  dryRun: boolean;
  steps: ReconcileStep[];
  startedAt: string;
  finishedAt: string;
  loads: LoadReport[];
  retries: LoadReport[];
  leftQuarantined: LeftQuarantined[];
  embedding: (BackfillResult & { skipped?: undefined }) | { skipped: string } | null;
  retention: {
    manifests: ManifestDeletion[];
    keptPastRetention: { key: string; why: string }[];
    quarantineObjects: string[];
    blobs: string[];
    keptReferencedBlobs: number;
    keptYoungBlobs: number;
    /** Blobs skipped at deletion time: referenced by a manifest that appeared meanwhile, or rewritten. */
    spared: string[];
  } | null;
  staleness: StalenessReport | null;
  /** Failures of individual items or steps (the run went on with the rest). */
  errors: { step: ReconcileStep; item?: string; code: string; message: string; transient: boolean }[];
}

const DAY = 24 * 3600_000;

/** Runs a reconcile pass. Never throws for one item's failure: see `report.errors`. */
export async function applyReconcile(deps: ReconcileDeps, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  const now = deps.now ?? (() => new Date());
  const started = now();
  const deadline = Date.now() + deps.policy.budgetMs;
  const dryRun = options.dryRun === true;
  const steps = RECONCILE_STEPS.filter((s) => !options.only || options.only.includes(s));
  const log = deps.log;
  const report: ReconcileReport = {
    dryRun,
    steps,
    startedAt: started.toISOString(),
    finishedAt: '',
    loads: [],
    retries: [],
    leftQuarantined: [],
    embedding: null,
    retention: null,
    staleness: null,
    errors: [],
  };
  const recordError = (step: ReconcileStep, err: unknown, item?: string) => {
    const app = isAppError(err) ? err : new AppError('INTERNAL', errorMessage(err), { cause: err });
    report.errors.push({ step, ...(item ? { item } : {}), code: app.code, message: app.message, transient: app.transient });
    log.error(`reconcile ${step} failed${item ? ` for ${item}` : ''}`, { event: 'reconcile_error', step, item, code: app.code, error: app.message });
  };

  // inputs
  const manifests = await listManifests(deps.store);
  const quarantineObjects = await listObjects(deps.store, QUARANTINE_PREFIX);
  const { runs, openQuarantine } = await deps.withDb(async (db) => {
    await ensureMigrated(db);
    const ledger = new RunLedger(db);
    return { runs: await readRuns(ledger), openQuarantine: await ledger.openQuarantine() };
  });
  const plan = planReconcile({ now: started, manifests, quarantineObjects, runs, openQuarantine, policy: deps.policy });
  report.leftQuarantined = plan.leftQuarantined;

  // 1 + 2. loads (missed events) and retries, oldest first per environment
  const runLoads = async (step: 'load' | 'retry', planned: PlannedLoad[], into: LoadReport[]) => {
    for (const [index, p] of planned.entries()) {
      if (!dryRun) deps.onProgress?.({ step, done: index, total: planned.length });
      const entry: LoadReport = { manifestKey: p.manifestKey, env: p.env, snapshotId: p.snapshotId, reason: p.reason, status: 'planned' };
      into.push(entry);
      if (dryRun) continue;
      if (Date.now() >= deadline) {
        entry.status = 'not_started_budget';
        continue;
      }
      try {
        const outcome = await deps.withDb(async (db) => {
          // the loader acknowledges a quarantined manifest as done: mark the run retryable first
          if (p.reason === 'transient_quarantine') await new RunLedger(db).markRetryable(p.manifestKey);
          const result = await runLoad({ store: deps.store, db, log }, p.manifestKey);
          // a failure is thrown here so that withDb retries it after a password rotation
          if (result.status === 'failed') throw result.error;
          return result;
        });
        entry.status = outcome.status;
        if (outcome.status === 'loaded' || outcome.status === 'duplicate') await deps.withDb((db) => new RunLedger(db).resolveQuarantine(p.manifestKey));
        if (outcome.status === 'quarantined') entry.error = { code: outcome.code, message: outcome.reason, transient: false };
      } catch (err) {
        entry.status = 'error';
        const app = isAppError(err) ? err : new AppError('INTERNAL', errorMessage(err));
        entry.error = { code: app.code, message: app.message, transient: app.transient };
        recordError(step, err, p.manifestKey);
        if (p.reason === 'transient_quarantine') {
          // one more try used up; a failure to count it is reported, not dropped
          await deps.withDb((db) => new RunLedger(db).countQuarantineRetry(p.manifestKey)).catch((countErr: unknown) => recordError(step, countErr, p.manifestKey));
        }
      }
    }
  };
  if (steps.includes('load')) await runLoads('load', plan.loads, report.loads);
  if (steps.includes('retry')) await runLoads('retry', plan.retries, report.retries);

  // 3. pending embeddings, within what is left of the budget (a share is kept for the rest)
  if (steps.includes('embed')) {
    if (dryRun) report.embedding = { skipped: 'dry run' };
    else {
      try {
        const choice = await deps.embedder();
        const budgetMs = Math.max(0, Math.floor((deadline - Date.now()) * 0.8));
        report.embedding = await deps.withDb(async (db) =>
          backfillEmbeddings(await ensureMigrated(db), { embedder: choice.embedder, budgetMs, ...(choice.reason ? { unavailableReason: choice.reason } : {}) }),
        );
      } catch (err) {
        recordError('embed', err);
      }
    }
  }

  // 4. retention
  if (steps.includes('retention')) {
    try {
      report.retention = await applyRetention(deps, plan.retention, manifests, now(), dryRun, recordError);
    } catch (err) {
      recordError('retention', err);
    }
  }

  // 5. staleness, on the runs as they are after this pass's loads
  if (steps.includes('staleness')) {
    try {
      const after = dryRun ? runs : await deps.withDb((db) => readRuns(new RunLedger(db)));
      report.staleness = planStaleness({ now: now(), runs: after, manifests });
      // one line per environment and run: the snapshot-age and failure-rate alerts read these
      for (const e of report.staleness.environments) {
        log.info('environment health', {
          event: LOG_EVENTS.environmentHealth,
          env: e.env,
          level: e.level,
          ...(e.newestSnapshotAgeMs === null ? {} : { newestSnapshotAgeSeconds: Math.round(e.newestSnapshotAgeMs / 1000) }),
          failureRate: e.failureRate,
          runsLastDay: e.runsLastDay,
        });
      }
      for (const f of report.staleness.findings) {
        log.log(f.level, f.message, { event: 'staleness', env: f.env, level: f.level, reason: f.reason, value: f.value, threshold: f.threshold });
      }
    } catch (err) {
      recordError('staleness', err);
    }
  }

  report.finishedAt = now().toISOString();
  log.info('reconcile done', {
    event: 'reconcile_done',
    dryRun,
    loads: report.loads.length,
    retries: report.retries.length,
    deletedBlobs: report.retention?.blobs.length ?? 0,
    deletedManifests: report.retention?.manifests.length ?? 0,
    stale: report.staleness?.findings.length ?? 0,
    errors: report.errors.length,
  });
  return report;
}

async function applyRetention(
  deps: ReconcileDeps,
  planned: ReturnType<typeof planReconcile>['retention'],
  listed: readonly ManifestObject[],
  now: Date,
  dryRun: boolean,
  recordError: (step: ReconcileStep, err: unknown, item?: string) => void,
): Promise<NonNullable<ReconcileReport['retention']>> {
  const { store, policy } = deps;
  const out: NonNullable<ReconcileReport['retention']> = {
    manifests: planned.deleteManifests,
    keptPastRetention: planned.keptPastRetention,
    quarantineObjects: planned.deleteQuarantineObjects,
    blobs: [],
    keptReferencedBlobs: 0,
    keptYoungBlobs: 0,
    spared: [],
  };
  const doomed = new Set(planned.deleteManifests.map((m) => m.key));
  if (!dryRun) {
    for (const m of planned.deleteManifests) await store.delete(m.key);
    for (const key of planned.deleteQuarantineObjects) await store.delete(key);
  }

  // blobs referenced by every manifest that is kept (listed again: pushes may have committed meanwhile)
  const kept = dryRun ? listed.filter((m) => !doomed.has(m.key)) : await listManifests(store);
  const referenced = new Set<string>();
  const seen = new Set<string>();
  const addRefs = async (keys: readonly string[]) => {
    for (const key of keys) {
      if (seen.has(key)) continue;
      seen.add(key);
      let text: string;
      try {
        text = (await store.get(key)).toString('utf8');
      } catch (err) {
        if (isAppError(err, 'OBJECT_NOT_FOUND')) continue;
        throw err; // a manifest we cannot read may reference any blob: delete none
      }
      for (const b of blobKeysIn(text)) referenced.add(b);
    }
  };
  await addRefs(kept.map((m) => m.key));
  const blobs = await listObjects(store, BLOB_PREFIX);
  const blobPlan: BlobPlan = planBlobDeletions(blobs, referenced, now, policy.safetyWindowMs);
  out.keptReferencedBlobs = blobPlan.keptReferenced;
  out.keptYoungBlobs = blobPlan.keptYoung;
  if (dryRun) {
    out.blobs = blobPlan.delete;
    return out;
  }
  // just before deleting: manifests committed since the listing protect their blobs too, and a
  // blob rewritten since (updated within the window) is spared
  await addRefs((await listManifests(store)).map((m) => m.key));
  for (const key of blobPlan.delete) {
    try {
      const info = await store.stat(key);
      if (!info) continue;
      if (referenced.has(key) || Date.now() - info.updated.getTime() < policy.safetyWindowMs) {
        out.spared.push(key);
        continue;
      }
      // only if nothing touched or rewrote it since this stat (a push reusing it touches it)
      if (!(await store.delete(key, { ifUnchanged: info }))) {
        out.spared.push(key);
        continue;
      }
      out.blobs.push(key);
    } catch (err) {
      recordError('retention', err, key);
    }
  }
  return out;
}

/** Snapshot manifests in the store (other objects under snapshots/ are not ours to judge). */
export async function listManifests(store: BlobStore): Promise<ManifestObject[]> {
  const out: ManifestObject[] = [];
  for await (const o of store.list(SNAPSHOT_PREFIX)) {
    const parts = parseManifestKey(o.key);
    if (parts && parts.prefix === '') out.push({ key: o.key, env: parts.env, snapshotId: parts.snapshotId, updated: o.updated });
  }
  return out;
}

async function listObjects(store: BlobStore, prefix: string): Promise<StoredObject[]> {
  const out: StoredObject[] = [];
  for await (const o of store.list(prefix)) out.push({ key: o.key, updated: o.updated, size: o.size });
  return out;
}

async function readRuns(ledger: RunLedger): Promise<RunRecord[]> {
  return (await ledger.runs()).map((r) => ({
    manifestKey: r.manifestKey,
    env: r.env,
    snapshotId: r.snapshotId,
    status: r.status,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.durationMs,
  }));
}

/** Default blob safety window when none is configured (24 h). */
export const DEFAULT_SAFETY_WINDOW_MS = DAY;
