// The kill -9 campaign shared by the fault test and the bench: snapshots of an evolving workspace
// are delivered in order to a database under test; each snapshot's loader process is killed with
// SIGKILL several times at seeded random moments of its life (a time after spawn, or a delay after
// it entered a phase: startup, manifest, migration check, blobs, transaction, COPY, merge, COMMIT,
// after the commit, embedding stage), then delivered once more to completion. After every kill the
// database must be exactly as before the snapshot (every row and row version unchanged) or exactly
// as a clean load of the same snapshot leaves a reference database; after the last delivery it
// must equal the reference. Problems are collected as violations (the test asserts there are none;
// the bench counts them).
import { isDeepStrictEqual } from 'node:util';
import type { DatabaseConnection } from '../../../../functions/db/database.js';
import { differingTables, exactFingerprint, type Fingerprint, logicalFingerprint, targetRows } from './db-fingerprint.js';
import { seededRandom } from './evolving-workspace.js';
import { type ChildArgs, type ChildRun, type KillAt, type Phase, runLoaderChild, waitForBackendsGone } from './kill-harness.js';

export type LoaderMode = ChildArgs['mode'];

export interface CampaignOptions {
  /** The database the killed loaders write to. */
  test: { db: DatabaseConnection; url: string };
  /** A database that loads each snapshot once, cleanly (the "after" of every snapshot). */
  reference: { db: DatabaseConnection; url: string };
  bucketDir: string;
  bucketName: string;
  /** Manifest keys, in delivery order. */
  manifestKeys: readonly string[];
  /** SIGKILLs per snapshot before its completing delivery (fewer when a kill lands after its commit: the rest go to the next snapshot). */
  killsPerSnapshot: number;
  seed: number;
  /** Scratch directory of the loader processes. */
  tmpDir: string;
  applicationName: string;
  /** Model folder for mode `function` (a missing folder: no model, rows stay pending). */
  modelDir: string;
  log?: (line: string) => void;
}

export interface KillRecord {
  snapshot: number;
  mode: LoaderMode;
  plan: KillAt;
  /** false: the process finished before the kill (a miss, not counted as a kill). */
  killed: boolean;
  /** The last phase the process reported before it died. */
  lastPhase: Phase;
  /** The database afterwards: as before the snapshot, as after it, or neither (a violation). */
  state: 'before' | 'after' | 'neither';
  elapsedMs: number;
}

export interface DeliveryRecord {
  snapshot: number;
  mode: LoaderMode;
  status: string;
  /** Kills of this snapshot before this delivery. */
  killsBefore: number;
  /** Wall time of the delivery that converged (process start to exit). */
  ms: number;
  /** Wall time of the clean load of the same snapshot into the reference, through the same path. */
  cleanMs: number;
}

export interface CampaignReport {
  kills: KillRecord[];
  misses: KillRecord[];
  deliveries: DeliveryRecord[];
  violations: string[];
  /** Kills per last reported phase. */
  byPhase: Partial<Record<Phase, number>>;
  /** Kills per resulting state. */
  byState: Record<'before' | 'after' | 'neither', number>;
  /** Kills of a delivery whose snapshot was not merged yet (the others were acknowledging a duplicate). */
  unmerged: number;
  /** Kills that found the snapshot unapplied and left it applied: they landed after the commit. */
  afterCommit: number;
  /** Target rows of the test database at the end. */
  finalRows: number;
}

const LOAD_PHASES: readonly Phase[] = ['ready', 'manifest', 'check', 'blobs', 'tx', 'copy', 'merge', 'commit', 'committed'];
const FUNCTION_PHASES: readonly Phase[] = [...LOAD_PHASES, 'model', 'embed'];
// a snapshot already merged is acknowledged after the duplicate check: later phases never come
const DUPLICATE_PHASES: readonly Phase[] = ['ready', 'manifest', 'check'];

function drawPlan(rnd: () => number, mode: LoaderMode, lifetimeMs: number, applied: boolean): KillAt {
  // a duplicate delivery lives far shorter than the clean load the lifetime comes from: phases only
  // (0.9: a process a little faster than the clean one would finish before its kill)
  if (!applied && rnd() < 0.5) return { kind: 'time', ms: Math.round(rnd() * 0.9 * lifetimeMs) };
  const phases = applied ? DUPLICATE_PHASES : mode === 'function' ? FUNCTION_PHASES : LOAD_PHASES;
  const phase = phases[Math.floor(rnd() * phases.length)] ?? 'ready';
  // copy/merge alternate per table for most of the transaction: spread the kills over it; the
  // commit and what follows take a few ms: kill at once (it races the COMMIT, or the exit)
  const spread = phase === 'copy' || phase === 'merge' ? 400 : phase === 'commit' || phase === 'committed' ? 2 : phase === 'embed' ? 15 : 40;
  return { kind: 'phase', phase, delayMs: Math.round(rnd() * spread) };
}

const describePlan = (p: KillAt) => (p.kind === 'time' ? `${p.ms} ms after spawn` : `${p.delayMs} ms after entering ${p.phase}`);

/** Runs the campaign; throws only when the setup itself fails (a reference load that does not load). */
export async function runKillCampaign(o: CampaignOptions): Promise<CampaignReport> {
  const log = o.log ?? (() => undefined);
  const rnd = seededRandom(o.seed);
  const report: CampaignReport = { kills: [], misses: [], deliveries: [], violations: [], byPhase: {}, byState: { before: 0, after: 0, neither: 0 }, unmerged: 0, afterCommit: 0, finalRows: 0 };
  // a function-path process lives longer than a loader-path one (its runtime, the embedding stage)
  const functionExtraMs = 600;
  let carry = 0;
  const args = (mode: LoaderMode, dbUrl: string, manifestKey: string): ChildArgs => ({
    mode,
    bucketDir: o.bucketDir,
    bucketName: o.bucketName,
    dbUrl,
    manifestKey,
    applicationName: o.applicationName,
    modelDir: o.modelDir,
    tmpDir: o.tmpDir,
  });
  const describeRun = (r: ChildRun) => `exit ${r.code ?? r.signal}, last phase ${r.lastPhase}, outcome ${r.outcome?.status ?? '-'}${r.stderr ? `, stderr: ${r.stderr.slice(0, 400)}` : ''}`;

  for (const [s, key] of o.manifestKeys.entries()) {
    // snapshots are delivered alternately through each path; the reference loads each one through the same path
    const deliveryMode: LoaderMode = s % 2 === 0 ? 'loader' : 'function';
    const clean = await runLoaderChild(args(deliveryMode, o.reference.url, key));
    if (clean.code !== 0 || clean.outcome?.status !== 'loaded') throw new Error(`reference load of snapshot ${s} did not load: ${describeRun(clean)}`);
    const lifetime = (mode: LoaderMode) => Math.max(200, clean.elapsedMs + (mode === deliveryMode ? 0 : mode === 'function' ? functionExtraMs : -functionExtraMs));
    const after = await logicalFingerprint(o.reference.db);
    const beforeSnapshot = await exactFingerprint(o.test.db);
    let applied = false;
    let kills = 0;
    // once a snapshot is merged (a kill after its commit, or a run that finished first) its
    // remaining kills move on to the next snapshot; the last one takes them on duplicate deliveries
    const quota = o.killsPerSnapshot + carry;
    const last = s === o.manifestKeys.length - 1;
    for (let attempt = 0; kills < quota && attempt < quota * 2 + 2 && (last || !applied); attempt++) {
      const mode: LoaderMode = rnd() < 0.5 ? 'loader' : 'function';
      const plan = drawPlan(rnd, mode, lifetime(mode), applied);
      const exactBefore = applied ? await exactFingerprint(o.test.db) : beforeSnapshot;
      const run = await runLoaderChild(args(mode, o.test.url, key), plan);
      await waitForBackendsGone(o.test.db, o.applicationName);
      const exactNow = await exactFingerprint(o.test.db);
      let state: KillRecord['state'];
      let logical: Fingerprint | undefined;
      if (isDeepStrictEqual(exactNow, exactBefore)) state = applied ? 'after' : 'before';
      else {
        logical = await logicalFingerprint(o.test.db);
        state = isDeepStrictEqual(logical, after) ? 'after' : 'neither';
      }
      const record: KillRecord = { snapshot: s, mode, plan, killed: run.killed, lastPhase: run.lastPhase, state, elapsedMs: Math.round(run.elapsedMs) };
      const where = `snapshot ${s} (${key}), ${mode} killed ${describePlan(plan)}`;
      if (state === 'neither') {
        report.violations.push(
          `${where}: the database is neither as before the snapshot (differs in ${differingTables(exactNow, exactBefore).join(', ')}) nor as after it (differs in ${differingTables(logical ?? {}, after).join(', ')}); ${describeRun(run)}`,
        );
      }
      if (run.killed) {
        kills++;
        if (!applied) report.unmerged++;
        if (state === 'after' && !applied) report.afterCommit++;
        report.kills.push(record);
        report.byPhase[run.lastPhase] = (report.byPhase[run.lastPhase] ?? 0) + 1;
        report.byState[state]++;
        // killed between printing its outcome and exiting: its work was done, so it must be "after"
        if (run.outcome && (!['loaded', 'duplicate'].includes(run.outcome.status) || state !== 'after')) {
          report.violations.push(`${where}: killed after it printed outcome ${run.outcome.status}, yet the database is ${state}`);
        }
      } else {
        report.misses.push(record);
        if (run.code !== 0 || !['loaded', 'duplicate'].includes(run.outcome?.status ?? '') || state !== 'after') {
          report.violations.push(`${where}: finished before the kill but did not converge (state ${state}); ${describeRun(run)}`);
        }
      }
      if (state === 'after') applied = true;
      log(`  snapshot ${s} ${mode.padEnd(8)} ${describePlan(plan).padEnd(32)} → ${run.killed ? `killed in ${run.lastPhase}` : `finished (${run.outcome?.status ?? run.code})`}, database ${state}`);
    }

    carry = quota - kills;

    // the redelivery converges to the reference
    const mode = deliveryMode;
    const final = await runLoaderChild(args(mode, o.test.url, key));
    const expected = applied ? 'duplicate' : 'loaded';
    if (final.code !== 0 || final.outcome?.status !== expected) {
      report.violations.push(`snapshot ${s} (${key}): the delivery after ${kills} kills should end "${expected}": ${describeRun(final)}`);
    }
    const converged = await logicalFingerprint(o.test.db);
    if (!isDeepStrictEqual(converged, after)) {
      report.violations.push(`snapshot ${s} (${key}): after the delivery that followed ${kills} kills the database differs from the clean reference in ${differingTables(converged, after).join(', ')}`);
    }
    report.deliveries.push({ snapshot: s, mode, status: final.outcome?.status ?? `exit ${final.code}`, killsBefore: kills, ms: Math.round(final.elapsedMs), cleanMs: Math.round(clean.elapsedMs) });
    log(`snapshot ${s}: ${kills} kills, then ${mode} delivery ${final.outcome?.status ?? final.code} in ${Math.round(final.elapsedMs)} ms (clean load ${Math.round(clean.elapsedMs)} ms)`);
  }
  report.finalRows = targetRows(await logicalFingerprint(o.test.db));
  return report;
}
