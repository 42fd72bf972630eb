// kill -9 of the real uploader (`aqe-upload push --no-load`, a child process) at seeded random
// moments of a push that stores two new blobs (a small JSON file's, then a 25 MB SQLite file's):
// into a local-dir bucket (20 kills) and into the GCS test server through the real Cloud Storage
// client (6 kills). After every kill no manifest is visible whose blobs are missing or wrong, no
// partial or temp object is visible, and the next push completes with a complete manifest.
// ~60-90 s (each push spends 0.7-3 s starting node + tsx); the long version (50 + 25 kills) is
// test/bench/faults-push-bench.ts.

import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GcsBlobStore } from '../../../functions/storage/gcs-blob-store.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { type GcsServer, startGcsServer } from '../../support/gcs-server.js';
import { tempDir } from '../../e2e/support/e2e-fixtures.js';
import { localTempFiles } from './support/bucket-audit.js';
import { type FaultWorkspace, buildFaultWorkspace } from './support/fault-workspace.js';
import { type GcsEmulatorFront, startGcsEmulatorFront } from './support/gcs-emulator-front.js';
import { type KillCampaignResult, runKillCampaign } from './support/kill-push-campaign.js';

const BULK_MB = 25;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let ws: FaultWorkspace;

beforeAll(async () => {
  tmp = await tempDir('aqe-push-faults-');
  ws = await buildFaultWorkspace(join(tmp.dir, 'ws'), { bulkMb: BULK_MB, seed: 11 });
});
afterAll(async () => {
  await ws?.close();
  await tmp?.remove();
});

function expectContractHeld(result: KillCampaignResult, kills: number): void {
  expect(result.violations).toEqual([]);
  expect(result.kills).toBe(kills);
  // The kills must land inside pushes, not only around them: some interrupted a write.
  expect(result.killsWhileWriting, 'no kill interrupted a write before the manifest').toBeGreaterThan(0);
  const last = result.completed.at(-1)!;
  expect(result.finalAudit.manifests).toContain(last.manifestKey);
  expect(result.finalAudit.violations).toEqual([]);
}

describe('kill -9 of the uploader pushing to a local-dir bucket', () => {
  it('never leaves a manifest with missing blobs or a visible partial object, and the next push completes', async () => {
    const root = join(tmp.dir, 'bucket-local');
    const result = await runKillCampaign({
      workspace: ws,
      bucketUrl: pathToFileURL(root).href,
      auditStore: new LocalDirBlobStore(root),
      localRoot: root,
      kills: 20,
      seed: 20_250_611,
      completeEvery: 10,
      log: (line) => console.info(line),
    });
    expectContractHeld(result, 20);
    // Temp files of killed writers stay in the hidden folder, never listed as objects.
    if (result.killsLeavingTemp > 0) expect((await localTempFiles(root)).length).toBeGreaterThan(0);
  }, 300_000);
});

describe('kill -9 of the uploader pushing to Cloud Storage (the GCS test server, real client)', () => {
  let server: GcsServer;
  let front: GcsEmulatorFront;
  beforeAll(async () => {
    server = await startGcsServer();
    server.createBucket('aqe-kill');
    front = await startGcsEmulatorFront(server.endpoint);
  });
  afterAll(async () => {
    await front?.close();
    await server?.close();
  });

  it('never leaves a manifest with missing blobs visible, and the next push completes', async () => {
    const result = await runKillCampaign({
      workspace: ws,
      bucketUrl: 'gs://aqe-kill',
      auditStore: new GcsBlobStore({ bucket: 'aqe-kill', storageOptions: { apiEndpoint: server.endpoint, projectId: 'test' }, retry: { maxRetries: 0 } }),
      cliEnv: { STORAGE_EMULATOR_HOST: front.endpoint },
      writesStarted: () => server.uploadsStarted,
      kills: 6,
      seed: 8_675_309,
      log: (line) => console.info(line),
    });
    expectContractHeld(result, 6);
    // What the server holds is exactly what the audit saw: blobs and manifests only.
    const names = [...server.objects('aqe-kill').keys()];
    expect(names.filter((n) => !/^blobs\/sha256\/|^snapshots\//.test(n))).toEqual([]);
  }, 300_000);
});
