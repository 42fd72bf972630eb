// kill -9 of the real uploader at seeded random moments of its push, many times over: after each
// kill the bucket is audited (no manifest with a missing or wrong blob, nothing partial or temp
// visible), and completing pushes prove the next push always succeeds. Shared by the test (short)
// and the bench (long).

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobStore } from '../../../../functions/storage/blob-store.js';
import { type BucketAudit, BucketAuditor, localTempFiles } from './bucket-audit.js';
import { type CliExit, pushJson, spawnCli } from './cli-child.js';
import type { FaultWorkspace } from './fault-workspace.js';

/** How far past its first upload an aimed kill may land: a one-file change uploads a chunk or two and the manifest within tens of ms. */
const WRITE_AIM_MS = 5;

export interface KillCampaignOptions {
  workspace: FaultWorkspace;
  /** `--bucket` for the CLI: file:///dir or gs://bucket. */
  bucketUrl: string;
  /** The same bucket opened in this process, for the audit. */
  auditStore: BlobStore;
  /** Root of a local-dir bucket: temp files left by kills are counted (they must stay invisible). */
  localRoot?: string;
  /**
   * A counter of object writes begun (e.g. the GCS test server's upload requests): shows kills that
   * landed mid-upload, and every second kill is aimed at the write phase with it (see below).
   */
  writesStarted?: () => number;
  /** Extra environment for the CLI (STORAGE_EMULATOR_HOST). */
  cliEnv?: Record<string, string>;
  kills: number;
  seed: number;
  /** A completing push after every this many kills (default: only after the last one). */
  completeEvery?: number;
  envName?: string;
  log?: (line: string) => void;
}

export interface CompletedPush {
  manifestKey: string;
  ms: number;
}

export interface KillCampaignResult {
  kills: number;
  /** Pushes that finished before their kill was due (not counted as kills). */
  finishedFirst: number;
  /** Pushes run to completion (calibration, every `completeEvery`, and the last one). */
  completed: CompletedPush[];
  /** Contract violations seen after any step (empty when the contract held). */
  violations: string[];
  /** Kills that left the bucket as it was. */
  killsNoTrace: number;
  /** Kills after which new blobs were visible but no new manifest: killed between blobs and manifest. */
  killsMidUpload: number;
  /** Kills after which the new manifest was already visible (killed after the commit). */
  killsAfterCommit: number;
  /** Kills that left temp files in a local store's hidden folder. */
  killsLeavingTemp: number;
  /** Kills that interrupted a write before the manifest: new blobs, temp files left, or an upload begun and not committed. */
  killsWhileWriting: number;
  /** The first push (every blob new), from spawn to exit, and its part before the push started working (process start-up). */
  pushMs: number;
  startupMs: number;
  /** Each kill's delay: after the push began working, or (aimed kills) after its first upload began. */
  delaysMs: number[];
  /** The audit after the last completing push. */
  finalAudit: BucketAudit;
  elapsedMs: number;
}

/** A small seeded PRNG (mulberry32): the same seed draws the same kill moments. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Prefix of the temp folders a push creates for its consistent copies (uploader/snapshot/capture.ts). */
const CAPTURE_DIR_PREFIX = 'aqe-upload-';

/**
 * Runs the campaign. Never throws for a contract violation: the result lists them (callers assert).
 * Throws when a completing push fails (with its output), which is itself the failure to report.
 *
 * Kill moments: the child's TMPDIR is a folder of ours; the push's first capture folder appearing
 * there marks the end of process start-up (module loading takes 1-2 s on a busy machine and writes
 * nothing). Each kill lands at a seeded random point of [0, 1.05 x the last observed work time]
 * after that mark, so kills spread over discovery, copies, gzip, blob writes and the manifest.
 */
export async function runKillCampaign(options: KillCampaignOptions): Promise<KillCampaignResult> {
  const started = performance.now();
  const log = options.log ?? (() => {});
  const env = options.envName ?? 'laptop';
  const auditor = new BucketAuditor(options.auditStore);
  const random = seededRandom(options.seed);
  const pushArgs = ['push', '--no-load', '--json', '--workspace', options.workspace.root, '--env', env, '--bucket', options.bucketUrl];
  const childTmp = await mkdtemp(join(tmpdir(), 'aqe-kill-push-tmp-'));
  const cli = { env: { ...options.cliEnv, TMPDIR: childTmp } };
  const violations: string[] = [];
  const completed: CompletedPush[] = [];
  let step = 0;
  let workMs = 0;

  const tempCount = async () => (options.localRoot === undefined ? 0 : (await localTempFiles(options.localRoot)).length);
  const violation = (v: string) => {
    violations.push(v);
    log(`kill campaign: VIOLATION ${v}`);
  };
  const check = async (label: string): Promise<BucketAudit> => {
    const audit = await auditor.audit();
    for (const v of audit.violations) violation(`after ${label}: ${v}`);
    return audit;
  };
  /** Resolves with the time the push started working (its first capture folder), or null if it exited first. */
  const workStart = async (exited: Promise<CliExit>): Promise<number | null> => {
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      const names = await readdir(childTmp).catch(() => [] as string[]);
      if (names.some((n) => n.startsWith(CAPTURE_DIR_PREFIX))) return performance.now();
      await sleep(5);
    }
    return null;
  };
  /** Resolves once the write counter passes `before` (an upload began), or the push exited. */
  const writesBegin = async (before: number, exited: Promise<CliExit>): Promise<void> => {
    let done = false;
    void exited.then(() => (done = true));
    while (!done && (options.writesStarted?.() ?? 0) <= before) await sleep(2);
  };
  /**
   * A killed push leaves its capture copies behind in our TMPDIR: remove them. Retried: the redb
   * capture's own child process (uploader/snapshot/redb-snapshot.ts) outlives a SIGKILL of the
   * CLI for a moment and may still be writing there.
   */
  const clearCaptureDirs = async () => {
    for (const name of await readdir(childTmp)) if (name.startsWith(CAPTURE_DIR_PREFIX)) await rm(join(childTmp, name), { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  };
  const completePush = async (label: string): Promise<BucketAudit> => {
    options.workspace.touch(++step);
    const { exited } = spawnCli(pushArgs, cli);
    const began = await workStart(exited);
    const run = await exited;
    if (began !== null) workMs = performance.now() - began;
    const json = pushJson(run);
    if (run.code !== 0 || !json?.manifestKey) throw new Error(`${label}: the push did not complete (exit ${run.code}, signal ${run.signal}):\n${run.stderr}`);
    if (json.partial || json.totals?.captured !== options.workspace.sourceFiles) {
      throw new Error(`${label}: the push captured ${json.totals?.captured} of ${options.workspace.sourceFiles} files (partial: ${json.partial})`);
    }
    completed.push({ manifestKey: json.manifestKey, ms: run.ms });
    const audit = await check(label);
    if (!audit.manifests.includes(json.manifestKey)) violation(`after ${label}: its manifest ${json.manifestKey} is not visible`);
    return audit;
  };

  try {
    // The first push stores every blob (the later ones only the touched files'): its work time is
    // the first estimate; pushes that finish before their kill refine it.
    let before = await completePush('the first push');
    const pushMs = completed[0]!.ms;
    const startupMs = pushMs - workMs;
    log(`kill campaign: first push ${pushMs.toFixed(0)} ms, of which ${startupMs.toFixed(0)} ms of process start-up and ${workMs.toFixed(0)} ms of work`);

    let kills = 0;
    let finishedFirst = 0;
    let killsNoTrace = 0;
    let killsMidUpload = 0;
    let killsAfterCommit = 0;
    let killsLeavingTemp = 0;
    let killsWhileWriting = 0;
    const delaysMs: number[] = [];
    let tempBefore = await tempCount();
    for (let attempt = 0; kills < options.kills; attempt++) {
      if (attempt >= options.kills * 3) throw new Error(`only ${kills} of ${options.kills} pushes could be killed in ${attempt} attempts: they finish before the kill (work ${workMs.toFixed(0)} ms)`);
      options.workspace.touch(++step);
      const writesBefore = options.writesStarted?.() ?? 0;
      // With a write counter, every second kill is aimed at the write phase: a push writes its
      // blobs in one burst after reading every file, so kills spread over the whole push rarely
      // land there. Those wait for the first upload to begin, then up to WRITE_AIM_MS more.
      const aimAtWrites = options.writesStarted !== undefined && kills % 2 === 1;
      const delay = Math.round(random() * (aimAtWrites ? WRITE_AIM_MS : 1.05 * workMs));
      const { child, exited } = spawnCli(pushArgs, cli);
      const began = await workStart(exited);
      if (began !== null && aimAtWrites) await writesBegin(writesBefore, exited);
      if (began !== null) await Promise.race([sleep(delay), exited]);
      const signalled = child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
      const result: CliExit = await exited;
      // A push may end between the check and the signal (it is then reaped with its own exit code).
      const killed = signalled && result.signal === 'SIGKILL';
      const when = aimAtWrites ? `${delay} ms after its first upload began` : `${delay} ms into the push`;
      const label = killed ? `kill ${kills + 1} at ${when}` : `push ${step} (finished before its kill at ${when})`;
      if (killed) {
        kills++;
        delaysMs.push(delay);
      } else {
        finishedFirst++;
        if (began !== null) workMs = performance.now() - began;
        if (result.code !== 0) violation(`${label}: exit ${result.code} (signal ${result.signal}):\n${result.stderr}`);
      }
      await clearCaptureDirs();
      const after = await check(label);
      const tempAfter = await tempCount();
      if (killed) {
        const newManifests = after.manifests.filter((k) => !before.manifests.includes(k)).length;
        const newBlobs = after.blobs.filter((k) => !before.blobs.includes(k)).length;
        if (newManifests > 0) killsAfterCommit++;
        else if (newBlobs > 0) killsMidUpload++;
        else if (tempAfter <= tempBefore) killsNoTrace++;
        if (tempAfter > tempBefore) killsLeavingTemp++;
        const writesBegun = (options.writesStarted?.() ?? 0) > writesBefore;
        if (newManifests === 0 && (newBlobs > 0 || tempAfter > tempBefore || writesBegun)) killsWhileWriting++;
      }
      before = after;
      tempBefore = tempAfter;
      if (killed && options.completeEvery !== undefined && kills % options.completeEvery === 0 && kills < options.kills) await completePush(`the completing push after kill ${kills}`);
    }
    const finalAudit = await completePush('the push after the last kill');
    const result: KillCampaignResult = {
      kills,
      finishedFirst,
      completed,
      violations,
      killsNoTrace,
      killsMidUpload,
      killsAfterCommit,
      killsLeavingTemp,
      killsWhileWriting,
      startupMs,
      pushMs,
      delaysMs,
      finalAudit,
      elapsedMs: performance.now() - started,
    };
    log(
      `kill campaign: ${kills} kills (${killsNoTrace} left no trace, ${killsMidUpload} between blobs and manifest, ${killsAfterCommit} after the manifest, ` +
        `${killsLeavingTemp} left temp files; ${killsWhileWriting} interrupted a write), ${finishedFirst} pushes finished first, ${completed.length} completed pushes, ${violations.length} violations, ` +
        `${finalAudit.manifests.length} manifests and ${finalAudit.blobs.length} blobs audited, ${(result.elapsedMs / 1000).toFixed(1)} s`,
    );
    return result;
  } finally {
    await rm(childTmp, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
}
