// The reconcile planner (pure): bucket listings + sync_runs + quarantine + a clock → what to load,
// retry, delete and alert on. No I/O: apply-reconcile.ts gathers the inputs and carries out the plan.

import { decodeTime } from 'ulid';
import { parseBlobKey } from '../../schema/snapshot/object-keys.js';
import { isSettled, type OpenQuarantine, type RunStatus } from '../loader/write/run-ledger.js';

export type { OpenQuarantine };

/** What the planner reads of an open quarantine row. */
export type QuarantineRow = Pick<OpenQuarantine, 'id' | 'env' | 'manifestKey' | 'code' | 'reason' | 'transient' | 'retryCount'>;

/** The steps of a reconcile run, in the order they run. */
export const RECONCILE_STEPS = ['load', 'retry', 'embed', 'retention', 'staleness'] as const;
export type ReconcileStep = (typeof RECONCILE_STEPS)[number];

const DAY = 24 * 3600_000;
const MINUTE = 60_000;

/** Alert thresholds (fixed by the design; WARNING / CRITICAL). */
export const STALENESS_THRESHOLDS = {
  noSuccess: { warningMs: DAY, criticalMs: 3 * DAY },
  failureRate: { windowMs: DAY, warning: 0.05, critical: 0.2 },
  duration: { windowMs: DAY, warningMs: 5 * MINUTE, criticalMs: 15 * MINUTE },
} as const;

/** A transiently quarantined snapshot is retried at most this many times. */
export const MAX_QUARANTINE_RETRIES = 10;

export interface ManifestObject {
  key: string;
  env: string;
  snapshotId: string;
  updated: Date;
}

export interface StoredObject {
  key: string;
  updated: Date;
  size: number;
}

export interface RunRecord {
  manifestKey: string;
  env: string;
  snapshotId: string;
  status: RunStatus;
  startedAt: Date;
  finishedAt: Date | null;
  durationMs: number | null;
}

export interface ReconcilePolicy {
  retentionDays: number;
  /** Nothing younger than this (by object `updated` time) is deleted. */
  safetyWindowMs: number;
}

export interface ReconcileInputs {
  now: Date;
  manifests: readonly ManifestObject[];
  quarantineObjects: readonly StoredObject[];
  runs: readonly RunRecord[];
  /** Oldest first. */
  openQuarantine: readonly QuarantineRow[];
  policy: ReconcilePolicy;
}

export interface PlannedLoad {
  manifestKey: string;
  env: string;
  snapshotId: string;
  reason: 'no_run' | 'failed_run' | 'transient_quarantine';
  /** Open quarantine rows of this manifest, resolved once it loads. */
  quarantineIds: number[];
}

export interface LeftQuarantined {
  manifestKey: string;
  code: string;
  reason: string;
  why: 'terminal' | 'retry_limit' | 'manifest_gone';
}

export interface ManifestDeletion {
  key: string;
  env: string;
  snapshotId: string;
  ageDays: number;
}

export interface ReconcilePlan {
  /** Manifests with no run (lost or failed events), oldest first per environment. */
  loads: PlannedLoad[];
  /** Failed runs and transiently quarantined snapshots, oldest first per environment. */
  retries: PlannedLoad[];
  leftQuarantined: LeftQuarantined[];
  retention: {
    deleteManifests: ManifestDeletion[];
    /** Manifests past retention kept because they are not loaded yet (or are the newest of their environment). */
    keptPastRetention: { key: string; why: 'newest_of_environment' | 'not_loaded' | 'too_recent' }[];
    deleteQuarantineObjects: string[];
  };
}

/** The creation time of a snapshot id (ULID), or null when it is not a ULID. */
export function snapshotTime(snapshotId: string): Date | null {
  try {
    return new Date(decodeTime(snapshotId));
  } catch {
    return null;
  }
}

const byEnvThenId = (a: { env: string; snapshotId: string }, b: { env: string; snapshotId: string }) =>
  a.env < b.env ? -1 : a.env > b.env ? 1 : a.snapshotId < b.snapshotId ? -1 : a.snapshotId > b.snapshotId ? 1 : 0;

/**
 * Plans the load, retry and retention steps.
 *
 * @example const plan = planReconcile({ now: new Date(), manifests, quarantineObjects, runs, openQuarantine, policy: { retentionDays: 90, safetyWindowMs: 86_400_000 } });
 */
export function planReconcile(input: ReconcileInputs): ReconcilePlan {
  const now = input.now.getTime();
  const runByKey = new Map<string, RunRecord>();
  for (const r of input.runs) {
    const prev = runByKey.get(r.manifestKey);
    if (!prev || r.startedAt > prev.startedAt) runByKey.set(r.manifestKey, r);
  }
  const openByKey = new Map<string, QuarantineRow[]>();
  for (const q of input.openQuarantine) openByKey.set(q.manifestKey, [...(openByKey.get(q.manifestKey) ?? []), q]);
  const present = new Map(input.manifests.map((m) => [m.key, m]));

  const loads: PlannedLoad[] = [];
  const retries: PlannedLoad[] = [];
  const leftQuarantined: LeftQuarantined[] = [];
  for (const m of input.manifests) {
    const run = runByKey.get(m.key);
    const open = openByKey.get(m.key) ?? [];
    const base = { manifestKey: m.key, env: m.env, snapshotId: m.snapshotId, quarantineIds: open.map((q) => q.id) };
    if (!run) loads.push({ ...base, reason: 'no_run' });
    else if (run.status === 'failed') retries.push({ ...base, reason: 'failed_run' });
    else if (run.status === 'quarantined') {
      const latest = open.at(-1);
      if (!latest) continue;
      if (!latest.transient) leftQuarantined.push({ manifestKey: m.key, code: latest.code, reason: latest.reason, why: 'terminal' });
      else if (latest.retryCount >= MAX_QUARANTINE_RETRIES) leftQuarantined.push({ manifestKey: m.key, code: latest.code, reason: latest.reason, why: 'retry_limit' });
      else retries.push({ ...base, reason: 'transient_quarantine' });
    }
  }
  for (const q of input.openQuarantine) {
    if (!present.has(q.manifestKey)) leftQuarantined.push({ manifestKey: q.manifestKey, code: q.code, reason: q.reason, why: 'manifest_gone' });
  }
  loads.sort(byEnvThenId);
  retries.sort(byEnvThenId);

  // retention: manifests past their age, except each environment's newest and any not loaded yet
  const retentionMs = input.policy.retentionDays * DAY;
  const newestByEnv = new Map<string, string>();
  for (const m of input.manifests) {
    const cur = newestByEnv.get(m.env);
    if (cur === undefined || m.snapshotId > cur) newestByEnv.set(m.env, m.snapshotId);
  }
  const deleteManifests: ManifestDeletion[] = [];
  const keptPastRetention: ReconcilePlan['retention']['keptPastRetention'] = [];
  for (const m of [...input.manifests].sort(byEnvThenId)) {
    const created = snapshotTime(m.snapshotId) ?? m.updated;
    // a manifest's age is its snapshot's; an object written recently is still never removed (too_recent)
    const age = now - created.getTime();
    if (age <= retentionMs) continue;
    const run = runByKey.get(m.key);
    if (newestByEnv.get(m.env) === m.snapshotId) keptPastRetention.push({ key: m.key, why: 'newest_of_environment' });
    else if (!run || !isSettled(run.status)) keptPastRetention.push({ key: m.key, why: 'not_loaded' });
    else if (now - m.updated.getTime() < input.policy.safetyWindowMs) keptPastRetention.push({ key: m.key, why: 'too_recent' });
    else deleteManifests.push({ key: m.key, env: m.env, snapshotId: m.snapshotId, ageDays: Math.floor(age / DAY) });
  }
  const deleteQuarantineObjects = input.quarantineObjects
    .filter((o) => now - o.updated.getTime() > retentionMs)
    .map((o) => o.key)
    .sort();

  return { loads, retries, leftQuarantined, retention: { deleteManifests, keptPastRetention, deleteQuarantineObjects } };
}

/** Every blob key a manifest's text mentions (lenient: a manifest that fails its schema still protects its blobs). */
export function blobKeysIn(manifestText: string): string[] {
  const out = new Set<string>();
  for (const m of manifestText.matchAll(/blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.(?:gz|zst)/g)) out.add(m[0]);
  return [...out];
}

export interface BlobPlan {
  delete: string[];
  keptReferenced: number;
  keptYoung: number;
  /** Objects under blobs/ that are not blob keys: never touched. */
  ignored: number;
}

/**
 * Blobs to delete (pure): not referenced by any kept manifest AND older than the safety window
 * (by `updated`), so a push in progress never loses a blob it has just uploaded.
 */
export function planBlobDeletions(blobs: readonly StoredObject[], referenced: ReadonlySet<string>, now: Date, safetyWindowMs: number): BlobPlan {
  const plan: BlobPlan = { delete: [], keptReferenced: 0, keptYoung: 0, ignored: 0 };
  for (const b of blobs) {
    if (parseBlobKey(b.key) === null) plan.ignored++;
    else if (referenced.has(b.key)) plan.keptReferenced++;
    else if (now.getTime() - b.updated.getTime() < safetyWindowMs) plan.keptYoung++;
    else plan.delete.push(b.key);
  }
  plan.delete.sort();
  return plan;
}

export type StalenessLevel = 'OK' | 'WARNING' | 'CRITICAL';

export interface StalenessFinding {
  env: string;
  level: Exclude<StalenessLevel, 'OK'>;
  reason: 'no_recent_success' | 'never_synced' | 'failure_rate' | 'slow_run';
  message: string;
  value: number;
  threshold: number;
}

export interface EnvironmentHealth {
  env: string;
  level: StalenessLevel;
  lastSuccessAt: string | null;
  /**
   * How old the newest loaded snapshot is (ms): since the last success, or for an environment
   * that never loaded, since its first sign of life. null when nothing is known yet.
   */
  newestSnapshotAgeMs: number | null;
  runsLastDay: number;
  failuresLastDay: number;
  failureRate: number;
  maxDurationMsLastDay: number | null;
}

export interface StalenessReport {
  environments: EnvironmentHealth[];
  findings: StalenessFinding[];
}

/**
 * Staleness per environment (pure): no success for > 1 day (WARNING) / 3 days (CRITICAL); failure
 * rate over the last day > 5 % / 20 %; a run in the last day longer than 5 / 15 minutes.
 * Environments come from the runs and the manifests in the bucket.
 */
export function planStaleness(input: { now: Date; runs: readonly RunRecord[]; manifests: readonly ManifestObject[] }): StalenessReport {
  const now = input.now.getTime();
  const t = STALENESS_THRESHOLDS;
  const envs = new Set<string>([...input.runs.map((r) => r.env), ...input.manifests.map((m) => m.env)]);
  const environments: EnvironmentHealth[] = [];
  const findings: StalenessFinding[] = [];
  for (const env of [...envs].sort()) {
    const runs = input.runs.filter((r) => r.env === env);
    const level = (critical: boolean): 'WARNING' | 'CRITICAL' => (critical ? 'CRITICAL' : 'WARNING');
    const mine: StalenessFinding[] = [];

    let lastSuccess: number | null = null;
    let ageMs: number | null = null;
    for (const r of runs) if (r.status === 'succeeded') lastSuccess = Math.max(lastSuccess ?? 0, (r.finishedAt ?? r.startedAt).getTime());
    if (lastSuccess !== null) {
      const age = now - lastSuccess;
      ageMs = age;
      if (age > t.noSuccess.warningMs) {
        const critical = age > t.noSuccess.criticalMs;
        mine.push({
          env,
          level: level(critical),
          reason: 'no_recent_success',
          message: `environment ${env}: no successful sync for ${hours(age)} h (${critical ? 'CRITICAL above 72 h' : 'WARNING above 24 h'})`,
          value: age,
          threshold: critical ? t.noSuccess.criticalMs : t.noSuccess.warningMs,
        });
      }
    } else {
      // never synced: measured from its first sign of life (first run or first manifest)
      const times = [...runs.map((r) => r.startedAt.getTime()), ...input.manifests.filter((m) => m.env === env).map((m) => (snapshotTime(m.snapshotId) ?? m.updated).getTime())];
      const first = Math.min(...times);
      const age = now - first;
      if (Number.isFinite(age)) ageMs = age;
      if (Number.isFinite(age) && age > t.noSuccess.warningMs) {
        const critical = age > t.noSuccess.criticalMs;
        mine.push({
          env,
          level: level(critical),
          reason: 'never_synced',
          message: `environment ${env}: no successful sync since its first snapshot ${hours(age)} h ago`,
          value: age,
          threshold: critical ? t.noSuccess.criticalMs : t.noSuccess.warningMs,
        });
      }
    }

    const recent = runs.filter((r) => r.status !== 'running' && now - (r.finishedAt ?? r.startedAt).getTime() <= t.failureRate.windowMs);
    const failures = recent.filter((r) => r.status === 'failed' || r.status === 'quarantined').length;
    const rate = recent.length === 0 ? 0 : failures / recent.length;
    if (rate > t.failureRate.warning) {
      const critical = rate > t.failureRate.critical;
      mine.push({
        env,
        level: level(critical),
        reason: 'failure_rate',
        message: `environment ${env}: ${failures} of ${recent.length} loads failed in the last 24 h (${(rate * 100).toFixed(1)} %; ${critical ? 'CRITICAL above 20 %' : 'WARNING above 5 %'})`,
        value: rate,
        threshold: critical ? t.failureRate.critical : t.failureRate.warning,
      });
    }

    const durations = recent.map((r) => r.durationMs).filter((d): d is number => d !== null);
    const maxDuration = durations.length ? Math.max(...durations) : null;
    if (maxDuration !== null && maxDuration > t.duration.warningMs) {
      const critical = maxDuration > t.duration.criticalMs;
      mine.push({
        env,
        level: level(critical),
        reason: 'slow_run',
        message: `environment ${env}: a load took ${(maxDuration / 60_000).toFixed(1)} min in the last 24 h (${critical ? 'CRITICAL above 15 min' : 'WARNING above 5 min'})`,
        value: maxDuration,
        threshold: critical ? t.duration.criticalMs : t.duration.warningMs,
      });
    }

    findings.push(...mine);
    environments.push({
      env,
      level: mine.some((f) => f.level === 'CRITICAL') ? 'CRITICAL' : mine.length ? 'WARNING' : 'OK',
      lastSuccessAt: lastSuccess === null ? null : new Date(lastSuccess).toISOString(),
      newestSnapshotAgeMs: ageMs,
      runsLastDay: recent.length,
      failuresLastDay: failures,
      failureRate: rate,
      maxDurationMsLastDay: maxDuration,
    });
  }
  return { environments, findings };
}

function hours(ms: number): string {
  return (ms / 3600_000).toFixed(1);
}
