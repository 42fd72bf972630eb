// Push-side faults, long versions (the short ones run in test/integration/faults/): kill -9 of the
// real uploader at seeded random moments, many times, into a local-dir bucket and into the GCS
// test server (kills survived, contract violations: must be 0); and pushes and loads under random
// Cloud Storage faults (429/500/503, slow answers, dropped connections) against the same pushes
// and loads without faults, measured in the same run. Reports, never fails.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PgDatabase } from '../../functions/db/pg-database.js';
import { ensureMigrated } from '../../functions/db/migrate.js';
import { GcsBlobStore } from '../../functions/storage/gcs-blob-store.js';
import { LocalDirBlobStore } from '../../functions/storage/local-dir-blob-store.js';
import { isAppError } from '../../schema/errors.js';
import { loadConfig } from '../../uploader/config.js';
import { type PushResult, runPush } from '../../uploader/push/run-push.js';
import { cloudCounts, expectedCloudCounts } from '../e2e/support/e2e-fixtures.js';
import { BucketAuditor } from '../integration/faults/support/bucket-audit.js';
import { buildFaultWorkspace } from '../integration/faults/support/fault-workspace.js';
import { loadWithPlatformRetries, randomGcsFaults } from '../integration/faults/support/gcs-fault-mix.js';
import { startGcsEmulatorFront } from '../integration/faults/support/gcs-emulator-front.js';
import { type KillCampaignResult, runKillCampaign } from '../integration/faults/support/kill-push-campaign.js';
import { type GcsServer, startGcsServer } from '../support/gcs-server.js';
import { createTestDatabase, startPostgresCluster } from '../support/postgres.js';
import { buildWorkspace } from '../support/workspace-builder.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';

const FAULTS = { statusProbability: 0.1, delayProbability: 0.08, delayMs: 250, dropProbability: 0.05 };
const FAULTS_LABEL = '429/500/503 p=0.1, 250 ms delay p=0.08, dropped connection p=0.05 per request';

export async function run(opts: BenchOptions): Promise<BenchFigure[]> {
  await mkdir(opts.workDir, { recursive: true });
  const server = await startGcsServer();
  try {
    return [...(await kills(opts, server)), ...(await underRandomFaults(opts, server))];
  } finally {
    await server.close();
  }
}

function killFigures(where: string, r: KillCampaignResult): BenchFigure[] {
  for (const v of r.violations.slice(0, 20)) console.error(`faults-push-bench: VIOLATION ${v}`);
  return [
    {
      name: `uploader kill -9 at random moments survived (${where}; ${r.killsWhileWriting} interrupted a write, ${r.killsMidUpload} between blobs and manifest, ${r.killsAfterCommit} after the manifest)`,
      value: r.kills,
      unit: 'kills',
      target: 'no violation; the next push completes',
      pass: r.violations.length === 0,
    },
    { name: `contract violations after those kills (${where}): manifest with a missing/wrong blob, visible partial or temp object`, value: r.violations.length, unit: 'violations', target: '0', pass: r.violations.length === 0 },
  ];
}

async function kills(opts: BenchOptions, server: GcsServer): Promise<BenchFigure[]> {
  const ws = await buildFaultWorkspace(join(opts.workDir, 'ws-kill'), { bulkMb: opts.quick ? 15 : 25, seed: 31 });
  try {
    const root = join(opts.workDir, 'bucket-kill');
    const local = await runKillCampaign({
      workspace: ws,
      bucketUrl: pathToFileURL(root).href,
      auditStore: new LocalDirBlobStore(root),
      localRoot: root,
      kills: opts.quick ? 10 : 50,
      seed: 424_242,
      completeEvery: 10,
      log: opts.log,
    });
    server.createBucket('bench-kill');
    const front = await startGcsEmulatorFront(server.endpoint);
    let gcs: KillCampaignResult;
    try {
      gcs = await runKillCampaign({
        workspace: ws,
        bucketUrl: 'gs://bench-kill',
        auditStore: new GcsBlobStore({ bucket: 'bench-kill', storageOptions: { apiEndpoint: server.endpoint, projectId: 'bench' }, retry: { maxRetries: 0 } }),
        cliEnv: { STORAGE_EMULATOR_HOST: front.endpoint },
        writesStarted: () => server.uploadsStarted,
        kills: opts.quick ? 5 : 25,
        seed: 17_171,
        completeEvery: 10,
        log: opts.log,
      });
    } finally {
      await front.close();
    }
    return [...killFigures('local-dir bucket', local), ...killFigures('Cloud Storage via the GCS test server', gcs)];
  } finally {
    await ws.close();
  }
}

async function underRandomFaults(opts: BenchOptions, server: GcsServer): Promise<BenchFigure[]> {
  const pushes = opts.quick ? 2 : 8;
  const loads = opts.quick ? 1 : 3;
  const ws = await buildWorkspace(join(opts.workDir, 'ws-faults'), { volume: 'plan', seed: 32 });
  const cluster = await startPostgresCluster();
  try {
    const storeFor = (bucket: string) =>
      new GcsBlobStore({ bucket, storageOptions: { apiEndpoint: server.endpoint, projectId: 'bench' }, resumableChunkBytes: 256 * 1024 });
    const pushTo = (store: GcsBlobStore) => runPush({ config: loadConfig({ flags: { env: 'bench', bucket: store.url }, env: {}, workspace: ws.root, configText: null }), store });

    // Each push goes to a fresh bucket, so every one stores every blob; fault-free and faulted alternate.
    let cleanMs = 0;
    let faultyMs = 0;
    let completed = 0;
    let failedAttempts = 0;
    let faults = 0;
    let violations = 0;
    const failures = new Map<string, number>();
    const pushed: { store: GcsBlobStore; result: PushResult }[] = [];
    for (let i = 0; i < pushes; i++) {
      server.setFaults({});
      const clean = storeFor(`bench-clean-${i}`);
      server.createBucket(clean.bucketName);
      let started = performance.now();
      await pushTo(clean);
      cleanMs += performance.now() - started;

      const store = storeFor(`bench-faulty-${i}`);
      server.createBucket(store.bucketName);
      const before = server.faultsInjected;
      server.setFaults(randomGcsFaults(FAULTS).faults);
      started = performance.now();
      for (let attempt = 1; attempt <= 5; attempt++) {
        try {
          pushed.push({ store, result: await pushTo(store) });
          completed++;
          break;
        } catch (err) {
          failedAttempts++;
          const what = isAppError(err) ? `${err.code}${err.transient ? '' : ' (not transient)'}: ${err.message.split('\n')[0]!.replace(/[0-9a-f]{64}/g, '…').slice(0, 160)}` : String(err);
          failures.set(what, (failures.get(what) ?? 0) + 1);
        }
      }
      faultyMs += performance.now() - started;
      faults += server.faultsInjected - before;
      server.setFaults({});
      violations += (await new BucketAuditor(new GcsBlobStore({ bucket: store.bucketName, storageOptions: { apiEndpoint: server.endpoint, projectId: 'bench' } })).audit()).violations.length;
      opts.log(`faults-push-bench: push ${i + 1}/${pushes}: ${server.faultsInjected - before} faults`);
    }
    for (const [what, n] of failures) opts.log(`faults-push-bench: ${n} failed push attempt(s): ${what}`);

    // Loads: the same snapshot into a fresh database each time, without and with faults.
    let cleanLoadMs = 0;
    let faultyLoadMs = 0;
    let loadsOk = 0;
    let loadRetries = 0;
    let loadFaults = 0;
    const canonical = (counts: Record<string, number>) => JSON.stringify(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
    const expected = canonical(expectedCloudCounts(ws));
    for (let i = 0; i < Math.min(loads, pushed.length); i++) {
      const { store, result } = pushed[i]!;
      for (const faulty of [false, true]) {
        const tdb = await createTestDatabase(`bench_faults_${faulty ? 'f' : 'c'}${i}`, cluster.adminUrl);
        const db = new PgDatabase(tdb.url);
        try {
          await ensureMigrated(db);
          const before = server.faultsInjected;
          server.setFaults(faulty ? randomGcsFaults(FAULTS).faults : {});
          const started = performance.now();
          const outcome = await loadWithPlatformRetries({ store, db }, result.manifestKey!, 15).finally(() => server.setFaults({}));
          const ms = performance.now() - started;
          const ok = outcome.outcome.status === 'loaded' && canonical(await cloudCounts(db, 'bench')) === expected;
          if (!ok) throw new Error(`faults-push-bench: a ${faulty ? 'faulted' : 'fault-free'} load did not load every row: ${JSON.stringify(outcome.outcome).slice(0, 300)}`);
          if (faulty) {
            faultyLoadMs += ms;
            loadsOk++;
            loadRetries += outcome.attempts - 1;
            loadFaults += server.faultsInjected - before;
          } else {
            cleanLoadMs += ms;
          }
        } finally {
          await db.close();
          await tdb.drop();
        }
      }
    }

    const pushRatio = faultyMs / cleanMs;
    const loadRatio = loadsOk > 0 ? faultyLoadMs / cleanLoadMs : Number.NaN;
    return [
      { name: `pushes completed under random GCS faults (${FAULTS_LABEL}; failed attempts rerun)`, value: completed, unit: `of ${pushes} pushes`, target: `${pushes}`, pass: completed === pushes },
      {
        name: 'push attempts that failed under those faults (each then rerun)',
        value: failedAttempts,
        unit: 'attempts',
        target: '0 (see the report: a dropped response to the last chunk of a multi-chunk upload fails the put)',
        pass: failedAttempts === 0,
      },
      { name: 'faults answered during those pushes (each retried by the client or the store)', value: faults, unit: 'faults' },
      { name: 'bucket contract violations after the faulted pushes', value: violations, unit: 'violations', target: '0', pass: violations === 0 },
      {
        name: `push of a plan workspace (${pushed[0]?.result.totals.captured ?? '?'} blobs; files over 4 MiB in ~1 MiB content-defined chunks) under random GCS faults`,
        value: Number((faultyMs / pushes / 1000).toFixed(2)),
        unit: 's/push',
        baseline: { name: 'the same pushes without faults', value: Number((cleanMs / pushes / 1000).toFixed(2)), unit: 's/push' },
        ratio: Number(pushRatio.toFixed(2)),
        ratioLabel: 'of fault-free time (lower is better)',
      },
      { name: 'loads completed under random GCS faults (transient failures redelivered, as the platform does)', value: loadsOk, unit: `of ${Math.min(loads, pushed.length)} loads`, target: 'all, every expected row' },
      { name: 'load redeliveries after a transient GCS failure', value: loadRetries, unit: 'redeliveries' },
      { name: 'faults answered during those loads', value: loadFaults, unit: 'faults' },
      {
        name: 'load of a plan snapshot into native PostgreSQL under random GCS faults',
        value: Number((faultyLoadMs / Math.max(1, loadsOk) / 1000).toFixed(2)),
        unit: 's/load',
        baseline: { name: 'the same loads without faults', value: Number((cleanLoadMs / Math.max(1, loadsOk) / 1000).toFixed(2)), unit: 's/load' },
        ratio: Number(loadRatio.toFixed(2)),
        ratioLabel: 'of fault-free time (lower is better)',
      },
    ];
  } finally {
    server.setFaults({});
    await cluster.stop();
    await ws.close();
  }
}
