// Load-side fault benchmark (long versions of test/integration/faults/kill-loader-random.test.ts
// and pg-restart.test.ts), on durable throwaway clusters:
//  - loader processes (loader path and Cloud Function path) killed with SIGKILL at seeded random
//    moments of their life over snapshots of an evolving plan-volume workspace: kills survived,
//    violations (a database neither exactly as before nor exactly as after the snapshot; a
//    delivery that does not converge to a clean reference load), and the time from a kill inside
//    the load transaction to the end of the redelivered load, against a clean load of the same
//    snapshot measured in the same run;
//  - PostgreSQL fast-restarted in the middle of a load served by the Functions Framework: time
//    from the restart to the acknowledged redelivery, against a clean delivery of the same snapshot.
// Reports, never fails. Run alone: npx tsx test/bench/faults-load-bench.ts [--quick]
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { pathToFileURL } from 'node:url';
import { PgDatabase } from '../../functions/db/pg-database.js';
import { ensureMigrated } from '../../functions/db/migrate.js';
import { LocalDirBlobStore } from '../../functions/storage/local-dir-blob-store.js';
import { TARGET_TABLES } from '../../schema/tables/target-tables.js';
import { pushWorkspace } from '../e2e/support/e2e-fixtures.js';
import { exactFingerprint, logicalFingerprint } from '../integration/faults/load-support/db-fingerprint.js';
import { buildEvolvingWorkspace, type EvolvingWorkspace, seededRandom } from '../integration/faults/load-support/evolving-workspace.js';
import { startFunctionServer, waitForLoadStatement } from '../integration/faults/load-support/function-server.js';
import { runKillCampaign } from '../integration/faults/load-support/kill-campaign.js';
import { type ChildArgs, runLoaderChild, waitForBackendsGone } from '../integration/faults/load-support/kill-harness.js';
import { startRestartablePostgres } from '../integration/faults/load-support/restartable-postgres.js';
import { createTestDatabase, startPostgresCluster } from '../support/postgres.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';

const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const workspaceOptions = (quick: boolean) => (quick ? ({ volume: 'small', grow: 5 } as const) : ({ volume: 'plan' } as const));

/**
 * Further snapshots, each killed once inside its load transaction (a random delay after the merge
 * began) and then delivered again: the time from the kill to the redelivered load's end, against a
 * clean load of the same snapshot into the reference; both databases must agree afterwards.
 */
async function convergeAfterKill(
  opts: BenchOptions,
  test: { db: PgDatabase; url: string },
  ref: { db: PgDatabase; url: string },
  ws: EvolvingWorkspace,
  bucketDir: string,
  firstStep: number,
  tmp: string,
): Promise<{ ms: number[]; cleanMs: number[]; violations: number }> {
  const samples = opts.quick ? 2 : 4;
  const app = 'aqe-bench-converge';
  const rnd = seededRandom(99);
  const out = { ms: [] as number[], cleanMs: [] as number[], violations: 0 };
  for (let i = 0; i < samples; i++) {
    await ws.evolve(firstStep + i);
    const key = (await pushWorkspace(ws.root, 'bench', new LocalDirBlobStore(bucketDir))).manifestKey!;
    const args = (dbUrl: string): ChildArgs => ({ mode: 'loader', bucketDir, bucketName: 'aqe-bench-faults', dbUrl, manifestKey: key, applicationName: app, tmpDir: tmp });
    const clean = await runLoaderChild(args(ref.url));
    if (clean.outcome?.status !== 'loaded') throw new Error(`faults-load: clean load did not load: ${clean.stderr.slice(0, 500)}`);
    const before = await exactFingerprint(test.db);
    const killed = await runLoaderChild(args(test.url), { kind: 'phase', phase: 'merge', delayMs: Math.round(rnd() * 300) });
    const t0 = performance.now();
    await waitForBackendsGone(test.db, app);
    const unchanged = isDeepStrictEqual(await exactFingerprint(test.db), before);
    if (!killed.killed || !unchanged) {
      // it got past the commit: then it must be exactly the clean load
      if (!unchanged && !isDeepStrictEqual(await logicalFingerprint(test.db), await logicalFingerprint(ref.db))) out.violations++;
      opts.log(`faults-load converge ${i}: the kill did not leave the snapshot unapplied (${killed.killed ? `killed in ${killed.lastPhase}` : 'finished first'}): sample skipped`);
      continue;
    }
    const delivery = await runLoaderChild(args(test.url));
    const ms = performance.now() - t0;
    const same = delivery.outcome?.status === 'loaded' && isDeepStrictEqual(await logicalFingerprint(test.db), await logicalFingerprint(ref.db));
    if (!same) out.violations++;
    out.ms.push(ms);
    out.cleanMs.push(clean.elapsedMs);
    opts.log(`faults-load converge ${i}: killed in ${killed.lastPhase}; converged ${Math.round(ms)} ms after the kill (clean load ${Math.round(clean.elapsedMs)} ms)${same ? '' : ' — DIFFERENT from the clean load'}`);
  }
  return out;
}

async function killFigures(opts: BenchOptions): Promise<BenchFigure[]> {
  const snapshots = opts.quick ? 4 : 8;
  const killsPerSnapshot = opts.quick ? 5 : 8;
  const dir = join(opts.workDir, 'kill');
  await mkdir(dir, { recursive: true });
  const cluster = await startPostgresCluster({ durable: true });
  const testDb = await createTestDatabase('bench_fault_kill', cluster.adminUrl);
  const refDb = await createTestDatabase('bench_fault_kill_ref', cluster.adminUrl);
  const db = new PgDatabase(testDb.url);
  const ref = new PgDatabase(refDb.url);
  const ws = await buildEvolvingWorkspace(dir, { ...workspaceOptions(opts.quick), seed: 17 });
  try {
    await ensureMigrated(db);
    await ensureMigrated(ref);
    const bucketDir = join(dir, 'bucket');
    const store = new LocalDirBlobStore(bucketDir);
    const keys: string[] = [];
    for (let s = 0; s < snapshots; s++) {
      if (s > 0) await ws.evolve(s);
      keys.push((await pushWorkspace(ws.root, 'bench', store)).manifestKey!);
    }
    const started = performance.now();
    const report = await runKillCampaign({
      test: { db, url: testDb.url },
      reference: { db: ref, url: refDb.url },
      bucketDir,
      bucketName: 'aqe-bench-faults',
      manifestKeys: keys,
      killsPerSnapshot,
      seed: 4242,
      tmpDir: dir,
      applicationName: 'aqe-bench-kill-loader',
      modelDir: join(dir, 'no-model'),
      log: opts.log,
    });
    for (const v of report.violations) opts.log(`faults-load VIOLATION: ${v}`);
    opts.log(
      `faults-load kills: ${report.kills.length} in ${((performance.now() - started) / 1000).toFixed(0)} s (${report.misses.length} runs finished first), ` +
        `${report.unmerged} of a snapshot not merged yet (${report.afterCommit} of them after its commit), the others of a duplicate delivery; ` +
        `by phase ${JSON.stringify(report.byPhase)}; by state ${JSON.stringify(report.byState)}; ${report.finalRows} target rows at the end`,
    );
    const acknowledged = report.deliveries.filter((d) => d.status === 'duplicate');
    const planned = snapshots * killsPerSnapshot;
    const converge = await convergeAfterKill(opts, { db, url: testDb.url }, { db: ref, url: refDb.url }, ws, bucketDir, snapshots, dir);
    const figures: BenchFigure[] = [
      {
        name: `loader processes killed with SIGKILL at random moments (${snapshots} snapshots, ${report.finalRows.toLocaleString('en-US')} rows at the end; loader + function paths; ${report.unmerged} before the snapshot was merged)`,
        value: report.kills.length,
        unit: 'kills',
        target: `${planned} kills, 0 violations`,
        pass: report.kills.length === planned && report.violations.length === 0,
      },
      {
        name: 'kills or deliveries that left the database neither as before nor as after the snapshot',
        value: report.violations.length + converge.violations,
        unit: 'violations',
        target: '0',
        pass: report.violations.length + converge.violations === 0,
      },
    ];
    if (converge.ms.length > 0) {
      const value = median(converge.ms);
      const clean = median(converge.cleanMs);
      figures.push({
        name: `time to converge after a kill inside the load transaction: kill → redelivered load finished (median of ${converge.ms.length})`,
        value: Math.round(value),
        unit: 'ms',
        baseline: { name: 'clean load of the same snapshots (loader process, same run)', value: Math.round(clean), unit: 'ms' },
        ratio: Number((value / clean).toFixed(2)),
        ratioLabel: 'of a clean load',
        target: '<= 1.5x a clean load (nothing left to clean up)',
        pass: value <= 1.5 * clean,
      });
    }
    if (acknowledged.length > 0) {
      const value = median(acknowledged.map((d) => d.ms));
      const clean = median(acknowledged.map((d) => d.cleanMs));
      figures.push({
        name: `delivery after a kill that landed after the commit: acknowledged as a duplicate (median of ${acknowledged.length})`,
        value: Math.round(value),
        unit: 'ms',
        baseline: { name: 'clean load of the same snapshots', value: Math.round(clean), unit: 'ms' },
        ratio: Number((value / clean).toFixed(2)),
        ratioLabel: 'of a clean load',
      });
    }
    return figures;
  } finally {
    await db.close();
    await ref.close();
    await testDb.drop().catch(() => undefined);
    await refDb.drop().catch(() => undefined);
    await ws.close();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function restartFigures(opts: BenchOptions): Promise<BenchFigure[]> {
  const reps = opts.quick ? 2 : 4;
  const dir = join(opts.workDir, 'restart');
  await mkdir(dir, { recursive: true });
  const cluster = await startRestartablePostgres({ durable: true });
  const ws = await buildEvolvingWorkspace(dir, { ...workspaceOptions(opts.quick), seed: 23 });
  const app = 'aqe-bench-restart-fn';
  const bucketDir = join(dir, 'bucket');
  const bucketName = 'aqe-bench-restart';
  const cleanMs: number[] = [];
  const recoveryMs: number[] = [];
  const restartMs: number[] = [];
  let mismatches = 0;
  try {
    const key = (await pushWorkspace(ws.root, 'bench', new LocalDirBlobStore(bucketDir))).manifestKey!;
    for (let rep = 0; rep < reps; rep++) {
      const cleanDb = await createTestDatabase(`bench_restart_clean_${rep}`, cluster.adminUrl);
      const faultDb = await createTestDatabase(`bench_restart_fault_${rep}`, cluster.adminUrl);
      const clean = new PgDatabase(cleanDb.url);
      const fault = new PgDatabase(faultDb.url);
      try {
        await ensureMigrated(clean);
        await ensureMigrated(fault);
        const server = { bucketDir, bucketName, applicationName: app, modelDir: join(dir, 'no-model') };
        let fn = await startFunctionServer({ ...server, dbUrl: cleanDb.url });
        const baseline = await fn.deliver(key, `bench-clean-${rep}`);
        await fn.close();
        if (baseline.status >= 300) throw new Error(`clean delivery failed (${baseline.status}): ${baseline.body}`);
        cleanMs.push(baseline.ms);

        fn = await startFunctionServer({ ...server, dbUrl: faultDb.url });
        try {
          const first = fn.deliver(key, `bench-restart-${rep}`);
          const statement = await waitForLoadStatement(fault, app);
          const t0 = performance.now();
          const restarted = cluster.restart({ downMs: 500 });
          const failed = await first;
          const attempts = await fn.deliverUntilAcknowledged(key, `bench-restart-${rep}`, { backoffMs: [100, 200, 400, 800], maxAttempts: 20 });
          const recovered = performance.now() - t0;
          const times = await restarted;
          const last = attempts.at(-1)!;
          if (last.status >= 300) throw new Error(`no redelivery was acknowledged: ${attempts.map((a) => a.status).join(', ')}: ${last.body}`);
          recoveryMs.push(recovered);
          restartMs.push(times.stopMs + times.downMs + times.startMs);
          const [a, b] = [await logicalFingerprint(clean), await logicalFingerprint(fault)];
          const same = TARGET_TABLES.every((t) => isDeepStrictEqual(a[t.name], b[t.name]));
          if (!same) mismatches++;
          opts.log(
            `faults-load restart ${rep}: during ${statement.slice(0, 50).replace(/\s+/g, ' ')}…, first delivery ${failed.status}; ` +
              `redeliveries ${attempts.map((d) => d.status).join(', ')}; acknowledged ${Math.round(recovered)} ms after the restart began ` +
              `(stop ${Math.round(times.stopMs)} + down ${Math.round(times.downMs)} + start ${Math.round(times.startMs)} ms); clean delivery ${Math.round(baseline.ms)} ms; rows ${same ? 'equal to' : 'DIFFERENT from'} the clean load`,
          );
        } finally {
          await fn.close();
        }
      } finally {
        await clean.close();
        await fault.close();
        await cleanDb.drop().catch(() => undefined);
        await faultDb.drop().catch(() => undefined);
      }
    }
  } finally {
    await ws.close();
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
  const value = median(recoveryMs);
  const clean = median(cleanMs);
  return [
    {
      name: `PostgreSQL fast restart mid-load (down 500 ms) → redelivered load acknowledged (median of ${reps}, from the restart)`,
      value: Math.round(value),
      unit: 'ms',
      baseline: { name: 'clean delivery of the same snapshot (Functions Framework, same run)', value: Math.round(clean), unit: 'ms' },
      ratio: Number((value / clean).toFixed(2)),
      ratioLabel: 'of a clean delivery',
      target: `restart (${Math.round(median(restartMs))} ms) + <= 1.5x a clean delivery; rows equal to the clean load`,
      pass: mismatches === 0 && value <= median(restartMs) + 1.5 * clean,
    },
  ];
}

export async function run(opts: BenchOptions): Promise<BenchFigure[]> {
  await mkdir(opts.workDir, { recursive: true });
  try {
    return [...(await killFigures(opts)), ...(await restartFigures(opts))];
  } finally {
    await rm(opts.workDir, { recursive: true, force: true });
  }
}

// run alone (test/bench/run.ts registers the modules it runs)
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const workDir = await mkdtemp(join(tmpdir(), 'aqe-bench-faults-'));
  const figures = await run({ quick: process.argv.includes('--quick'), workDir, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
}
