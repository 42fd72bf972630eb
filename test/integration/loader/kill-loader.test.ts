// kill -9 of a loader process in the middle of a plan-volume load (inside its transaction, after
// it took the environment's lock): the database is exactly as before (no run record, no rows, no
// undo entries), and a rerun converges to the full load.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { advisoryLockKey, LOCK_NAMES } from '../../../functions/db/advisory-lock.js';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { ensureMigrated } from '../../../functions/db/migrate.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { type BuiltWorkspace, buildWorkspace } from '../../support/workspace-builder.js';
import { cloudCounts, expectedCloudCounts, pushWorkspace, targetRowTotal, tempDir } from '../../e2e/support/e2e-fixtures.js';

const CHILD = fileURLToPath(new URL('./support/load-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const APP = 'aqe-kill-test-loader';
const ENV = 'laptop';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let tdb: TestDatabase;
let db: PgDatabase;
let ws: BuiltWorkspace;
let bucketDir: string;
let manifestKey: string;

beforeAll(async () => {
  tmp = await tempDir('aqe-kill-');
  tdb = await createTestDatabase('kill_loader');
  db = new PgDatabase(tdb.url);
  await ensureMigrated(db);
  ws = await buildWorkspace(join(tmp.dir, 'ws'), { volume: 'plan', seed: 3 });
  bucketDir = join(tmp.dir, 'bucket');
  manifestKey = (await pushWorkspace(ws.root, ENV, new LocalDirBlobStore(bucketDir))).manifestKey!;
});
afterAll(async () => {
  await db?.close();
  await tdb?.drop();
  await ws?.close();
  await tmp?.remove();
});

function startLoader(): { child: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, bucketDir, tdb.url, manifestKey], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exited };
}

/** true while a backend of the child holds the environment's advisory lock (its load transaction is open). */
async function childHoldsEnvLock(): Promise<boolean> {
  const key = BigInt(advisoryLockKey(LOCK_NAMES.environment(ENV)));
  const unsigned = BigInt.asUintN(64, key);
  const classid = Number(unsigned >> 32n);
  const objid = Number(unsigned & 0xffffffffn);
  const res = await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND a.application_name = $1 AND l.classid::bigint = $2 AND l.objid::bigint = $3`,
    [APP, classid, objid],
  );
  return Number(res.rows[0]?.n) > 0;
}

async function childBackends(): Promise<number> {
  const res = await db.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1', [APP]);
  return Number(res.rows[0]?.n);
}

async function bookkeepingRows(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['sync_runs', 'sync_state', 'undo_log', 'quarantine']) {
    out[t] = Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM aqe.${t}`)).rows[0]?.n);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a loader process killed with SIGKILL mid-load', () => {
  it('leaves the database exactly as before, every time, and a rerun converges', async () => {
    const EMPTY = { sync_runs: 0, sync_state: 0, undo_log: 0, quarantine: 0 };
    expect(await bookkeepingRows()).toEqual(EMPTY);
    const delays: number[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const { child, exited } = startLoader();
      // wait until its load transaction holds the environment lock, then a short random delay
      const deadline = Date.now() + 60_000;
      let locked = false;
      while (!locked && child.exitCode === null && Date.now() < deadline) {
        locked = await childHoldsEnvLock();
        if (!locked) await sleep(10);
      }
      expect(locked, 'the child never reached its load transaction').toBe(true);
      const delay = Math.floor(Math.random() * 250);
      delays.push(delay);
      await sleep(delay);
      expect(child.exitCode, 'the load finished before the kill: the kill proves nothing').toBeNull();
      child.kill('SIGKILL');
      const result = await exited;
      expect(result.signal).toBe('SIGKILL');
      expect(result.stdout).toBe('');

      // the server rolls the transaction back once it notices the dead connection
      for (let i = 0; i < 500 && (await childBackends()) > 0; i++) await sleep(20);
      expect(await childBackends()).toBe(0);
      expect(await bookkeepingRows()).toEqual(EMPTY);
      expect(await targetRowTotal(db)).toBe(0);
    }

    const { exited } = startLoader();
    const done = await exited;
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ status: 'loaded', manifestKey });
    expect(await cloudCounts(db, ENV)).toEqual(expectedCloudCounts(ws));
    const runs = await db.query<{ status: string }>('SELECT status FROM aqe.sync_runs');
    expect(runs.rows).toEqual([{ status: 'succeeded' }]);
    console.info(`killed after ${delays.join(', ')} ms inside the load transaction`);
  });
});
