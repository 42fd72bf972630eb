import { encodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { type ManifestObject, planBlobDeletions, planReconcile, planStaleness, type RunRecord, blobKeysIn } from './plan-reconcile.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const H = 3600_000;
const D = 24 * H;
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const id = (t: Date, suffix = '0000000000000000') => encodeTime(t.getTime(), 10) + suffix;
const manifest = (env: string, t: Date, suffix?: string): ManifestObject => {
  const snapshotId = id(t, suffix);
  return { key: `snapshots/${env}/${snapshotId}/manifest.json`, env, snapshotId, updated: t };
};
const run = (m: ManifestObject, status: RunRecord['status'], finishedAgo: number, durationMs = 1000): RunRecord => ({
  manifestKey: m.key,
  env: m.env,
  snapshotId: m.snapshotId,
  status,
  startedAt: ago(finishedAgo + durationMs),
  finishedAt: ago(finishedAgo),
  durationMs,
});
const policy = { retentionDays: 90, safetyWindowMs: D };

describe('planReconcile', () => {
  it('plans manifests without a run, oldest first per environment', () => {
    const a1 = manifest('laptop', ago(3 * H));
    const a2 = manifest('laptop', ago(2 * H));
    const b1 = manifest('ci', ago(1 * H));
    const done = manifest('laptop', ago(4 * H));
    const plan = planReconcile({ now: NOW, manifests: [a2, b1, a1, done], quarantineObjects: [], runs: [run(done, 'succeeded', 4 * H)], openQuarantine: [], policy });
    expect(plan.loads.map((l) => l.manifestKey)).toEqual([b1.key, a1.key, a2.key]);
    expect(plan.loads.every((l) => l.reason === 'no_run')).toBe(true);
  });

  it('retries failed runs and transient quarantines, leaves terminal ones', () => {
    const failed = manifest('laptop', ago(5 * H));
    const transient = manifest('laptop', ago(4 * H));
    const terminal = manifest('laptop', ago(3 * H));
    const exhausted = manifest('laptop', ago(2 * H));
    const q = (m: ManifestObject, idn: number, t: boolean, retryCount = 0) => ({ id: idn, env: 'laptop', manifestKey: m.key, code: 'X', reason: 'r', transient: t, retryCount });
    const plan = planReconcile({
      now: NOW,
      manifests: [failed, transient, terminal, exhausted],
      quarantineObjects: [],
      runs: [run(failed, 'failed', 5 * H), run(transient, 'quarantined', 4 * H), run(terminal, 'quarantined', 3 * H), run(exhausted, 'quarantined', 2 * H)],
      openQuarantine: [q(transient, 1, true), q(terminal, 2, false), q(exhausted, 3, true, 10), { ...q(failed, 4, false), manifestKey: 'snapshots/laptop/gone/manifest.json' }],
      policy,
    });
    expect(plan.retries.map((r) => [r.manifestKey, r.reason])).toEqual([
      [failed.key, 'failed_run'],
      [transient.key, 'transient_quarantine'],
    ]);
    expect(plan.retries[1]?.quarantineIds).toEqual([1]);
    expect(plan.leftQuarantined.map((l) => l.why).sort()).toEqual(['manifest_gone', 'retry_limit', 'terminal']);
  });

  it('removes manifests past retention except the newest per environment and unloaded ones', () => {
    const old1 = manifest('laptop', ago(200 * D));
    const old2 = manifest('laptop', ago(100 * D));
    const oldUnloaded = manifest('laptop', ago(95 * D), '1111111111111111');
    const recent = manifest('laptop', ago(1 * D));
    const onlyOld = manifest('ci', ago(300 * D));
    const plan = planReconcile({
      now: NOW,
      manifests: [old1, old2, oldUnloaded, recent, onlyOld],
      quarantineObjects: [
        { key: 'quarantine/laptop/x/error.json', updated: ago(91 * D), size: 1 },
        { key: 'quarantine/laptop/y/error.json', updated: ago(89 * D), size: 1 },
      ],
      runs: [run(old1, 'succeeded', 200 * D), run(old2, 'quarantined', 100 * D), run(recent, 'succeeded', D), run(onlyOld, 'succeeded', 300 * D)],
      openQuarantine: [],
      policy,
    });
    expect(plan.retention.deleteManifests.map((m) => m.key)).toEqual([old1.key, old2.key]);
    expect(plan.retention.keptPastRetention).toEqual([
      { key: onlyOld.key, why: 'newest_of_environment' },
      { key: oldUnloaded.key, why: 'not_loaded' },
    ]);
    expect(plan.retention.deleteQuarantineObjects).toEqual(['quarantine/laptop/x/error.json']);
  });
});

describe('planBlobDeletions', () => {
  const blob = (c: string, updatedAgo: number) => ({ key: `blobs/sha256/${c}${c}/${c.repeat(64)}.gz`, updated: ago(updatedAgo), size: 1 });
  it('deletes only unreferenced blobs older than the safety window', () => {
    const referenced = blob('a', 100 * D);
    const young = blob('b', 23 * H);
    const old = blob('c', 25 * H);
    const stray = { key: 'blobs/sha256/readme.txt', updated: ago(100 * D), size: 1 };
    const plan = planBlobDeletions([referenced, young, old, stray], new Set([referenced.key]), NOW, D);
    expect(plan).toEqual({ delete: [old.key], keptReferenced: 1, keptYoung: 1, ignored: 1 });
  });
  it('finds every blob key a manifest mentions, even one that fails its schema', () => {
    const k = `blobs/sha256/ab/${'ab'.repeat(32)}.gz`;
    expect(blobKeysIn(`{"broken": ["${k}", "${k}"`)).toEqual([k]);
  });
  it('finds the chunk blobs of a chunked (format 2) manifest, zstd and gzip alike, so retention keeps every chunk a kept manifest lists', () => {
    const zst = `blobs/sha256/cd/${'cd'.repeat(32)}.zst`;
    const gz = `blobs/sha256/ef/${'ef'.repeat(32)}.gz`;
    const text = JSON.stringify({ formatVersion: 2, sources: [{ status: 'captured', chunks: [{ blobKey: zst }, { blobKey: gz }, { blobKey: zst }] }] });
    expect(blobKeysIn(text).sort()).toEqual([zst, gz].sort());
    const plan = planBlobDeletions(
      [zst, gz, `blobs/sha256/11/${'11'.repeat(32)}.zst`].map((key) => ({ key, updated: ago(100 * D), size: 1 })),
      new Set(blobKeysIn(text)),
      NOW,
      D,
    );
    expect(plan).toEqual({ delete: [`blobs/sha256/11/${'11'.repeat(32)}.zst`], keptReferenced: 2, keptYoung: 0, ignored: 0 });
  });
});

describe('planStaleness', () => {
  const m = manifest('laptop', ago(10 * D));
  const runsOf = (env: string, list: Array<[RunRecord['status'], number, number?]>): RunRecord[] =>
    list.map(([status, finished, duration], i) => ({ ...run(m, status, finished, duration ?? 1000), env, manifestKey: `${env}-${i}` }));

  it('is OK with a recent success and no failures', () => {
    const r = planStaleness({ now: NOW, runs: runsOf('laptop', [['succeeded', H]]), manifests: [] });
    expect(r.findings).toEqual([]);
    expect(r.environments[0]?.level).toBe('OK');
  });

  it.each([
    [23 * H, null],
    [25 * H, 'WARNING'],
    [71 * H, 'WARNING'],
    [73 * H, 'CRITICAL'],
  ])('no success for %d ms → %s', (age, level) => {
    const r = planStaleness({ now: NOW, runs: runsOf('ci', [['succeeded', age]]), manifests: [] });
    const f = r.findings.filter((x) => x.reason === 'no_recent_success');
    expect(f.map((x) => x.level)).toEqual(level ? [level] : []);
  });

  it('flags an environment that never synced, from its first snapshot', () => {
    const r = planStaleness({ now: NOW, runs: [], manifests: [manifest('devpod', ago(2 * D))] });
    expect(r.findings).toMatchObject([{ env: 'devpod', level: 'WARNING', reason: 'never_synced' }]);
  });

  it.each([
    [1, 20, null], // 5 % exactly: not above
    [2, 20, 'WARNING'],
    [4, 20, 'WARNING'], // 20 % exactly
    [5, 20, 'CRITICAL'],
  ])('%d failures of %d loads in the last day', (failures, total, level) => {
    const list: Array<[RunRecord['status'], number]> = [];
    for (let i = 0; i < total; i++) list.push([i < failures ? (i % 2 ? 'failed' : 'quarantined') : 'succeeded', (i + 1) * 60_000]);
    list.push(['failed', 2 * D]); // outside the window
    const r = planStaleness({ now: NOW, runs: runsOf('laptop', list), manifests: [] });
    expect(r.findings.filter((x) => x.reason === 'failure_rate').map((x) => x.level)).toEqual(level ? [level] : []);
  });

  it.each([
    [5 * 60_000, null],
    [6 * 60_000, 'WARNING'],
    [16 * 60_000, 'CRITICAL'],
  ])('a run of %d ms', (duration, level) => {
    const r = planStaleness({ now: NOW, runs: runsOf('laptop', [['succeeded', H, duration], ['succeeded', 2 * D, 60 * 60_000]]), manifests: [] });
    expect(r.findings.filter((x) => x.reason === 'slow_run').map((x) => x.level)).toEqual(level ? [level] : []);
    expect(r.environments[0]?.level).toBe(level ?? 'OK');
  });
});
