// The embedded database across real processes. One owner at a time: holders never overlap, a
// waiting command names the holder, gives up after its named limit, and proceeds the moment a
// holder is killed with -9; a push whose load cannot get the database reports the snapshot
// committed and the load pending, and the command it prints loads it. A damaged folder (a catalog
// cut short, a table page of garbage) is detected when opened or read: every command exits with
// the fix instead of hanging, `doctor` names it, and `rebuild` recreates it from the bucket's
// snapshots with the damaged copy kept aside — after which the workspace equals the database.
// One workspace for both (the first push creates its database: PGlite's initdb is the slow part).

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { open, readdir, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDatabaseLock, probeDatabaseLock } from '../../../uploader/local/database-lock.js';
import { withOpenDatabase } from '../../../uploader/local/local-database.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { runCli } from '../faults/support/cli-child.js';
import { runCliInProcess, tempFolder } from '../uploader/cli-harness.js';
import { startCli } from '../watch/watch-process.js';

const HOLDER = fileURLToPath(new URL('./lock-holder.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

function startHolder(dataDir: string, owner: string): { child: ChildProcess; held: Promise<number>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dataDir, owner, 'hold'], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const held = new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /held (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`holder exited (${code}) before holding the lock`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, held, exited };
}

const env = { AQE_EMBED_BUDGET_SECONDS: '0' };

/** The file of a relation inside the data folder. */
async function relationFile(relation: string): Promise<string> {
  const path = await withOpenDatabase(`pglite://${dataDir}`, async (db) => (await db.query<{ p: string }>('SELECT pg_relation_filepath($1) AS p', [relation])).rows[0]!.p);
  return join(dataDir, path);
}

let tmp: string;
let remove: () => Promise<void>;
let ws: string;
let dataDir: string;

beforeAll(async () => {
  const t = await tempFolder('aqe-lock-');
  tmp = t.dir;
  remove = t.remove;
  ws = join(tmp, 'ws');
  const built = await buildWorkspace(ws, { volume: 'small', seed: 5 });
  await built.close();
  // The first push creates the embedded database (PGlite's initdb takes a while).
  const first = await runCli(['push', '-w', ws, '--env', 'laptop', '--json', '-q'], { env: { AQE_EMBED_BUDGET_SECONDS: '0' } });
  expect(first.code, first.stderr).toBe(0);
  dataDir = join(ws, '.aqe-sync', 'db');
});
afterAll(async () => {
  await remove?.();
});

describe('the embedded database lock', () => {
  it('is held by one process at a time: 4 processes taking it 25 times each never overlap', async () => {
    const dir = join(tmp, 'contended-db');
    const marker = join(tmp, 'inside');
    const children = Array.from({ length: 4 }, (_, i) =>
      new Promise<{ collisions: number }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, dir, `worker ${i}`, 'exclusive', '25', marker], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
        child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as { collisions: number }) : reject(new Error(`worker ${i} exited ${code}`))));
      }),
    );
    const results = await Promise.all(children);
    expect(results.map((r) => r.collisions)).toEqual([0, 0, 0, 0]);
    expect(await probeDatabaseLock(dir)).toEqual({ held: false, holder: null });
  });

  it('queues opens inside one process in order, without polling against itself', async () => {
    const dir = join(tmp, 'in-process-db');
    const order: string[] = [];
    const first = await acquireDatabaseLock(dir, { owner: 'first', timeoutMs: 5000 });
    const second = acquireDatabaseLock(dir, { owner: 'second', timeoutMs: 5000 }).then((l) => (order.push('second'), l));
    const third = acquireDatabaseLock(dir, { owner: 'third', timeoutMs: 5000 }).then((l) => (order.push('third'), l));
    await new Promise((r) => setTimeout(r, 200));
    expect(order).toEqual([]);
    expect((await probeDatabaseLock(dir)).held).toBe(true);
    await first.release();
    await (await second).release();
    await (await third).release();
    expect(order).toEqual(['second', 'third']);
  });

  it('a waiting command names the holder, and proceeds as soon as the holder is killed with -9', async () => {
    const holder = startHolder(dataDir, 'aqe-upload watch');
    const pid = await holder.held;
    const status = startCli(['status', '-w', ws, '--json']);
    try {
      await status.waitForStderr(`waiting for the local database (held by \`aqe-upload watch\`, pid ${pid})…`, 30_000);
      await new Promise((r) => setTimeout(r, 1000));
      expect(status.pending()).toEqual([]); // still waiting: nothing printed
      const killedAt = performance.now();
      holder.child.kill('SIGKILL');
      await holder.exited;
      const exit = await status.stop(null, 60_000);
      expect(exit, status.stderr()).toEqual({ code: 0, signal: null });
      // the kernel released the lock with the process: no stale-lock wait
      expect(performance.now() - killedAt).toBeLessThan(30_000);
      const report = JSON.parse(status.stdout()) as { environments: Array<{ env: string }> };
      expect(report.environments.map((e) => e.env)).toEqual(['laptop']);
    } finally {
      holder.child.kill('SIGKILL');
      await status.stop('SIGKILL');
    }
    expect(await probeDatabaseLock(dataDir)).toEqual({ held: false, holder: null });
  });

  it('gives up after AQE_LOCK_TIMEOUT with exit 1, naming the holder and the limit', async () => {
    const holder = startHolder(dataDir, 'aqe-upload watch');
    const pid = await holder.held;
    try {
      const run = await runCli(['search', 'retry', '-w', ws], { env: { AQE_LOCK_TIMEOUT: '1' }, timeoutMs: 60_000 });
      expect(run.code, run.stderr).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`is still in use by \`aqe-upload watch\`, pid ${pid} after waiting 1 s (the limit, AQE_LOCK_TIMEOUT=1)`);
      expect(run.stderr).toMatch(/AQE_LOCK_TIMEOUT=300 aqe-upload/);
      const bad = await runCli(['status', '-w', ws], { env: { AQE_LOCK_TIMEOUT: 'soon' }, timeoutMs: 60_000 });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('AQE_LOCK_TIMEOUT: "soon" is not a number of seconds');
    } finally {
      holder.child.stdin!.end();
      await holder.exited;
    }
  });

  it('Ctrl-C stops a watch that is waiting for the database at once (the first Ctrl-C, exit 0)', async () => {
    const holder = startHolder(dataDir, 'aqe-upload status');
    const pid = await holder.held;
    const watch = startCli(['watch', '-w', ws, '--json', '--debounce', '200ms'], { AQE_EMBED_BUDGET_SECONDS: '0' });
    try {
      await watch.waitForStderr(`waiting for the local database (held by \`aqe-upload status\`, pid ${pid})…`, 60_000);
      const stopped = performance.now();
      const exit = await watch.stop('SIGINT', 30_000);
      expect(exit, watch.stderr()).toEqual({ code: 0, signal: null });
      expect(performance.now() - stopped).toBeLessThan(15_000);
      const line = JSON.parse(watch.pending()[0]!) as { ok: boolean; error: { code: string; message: string } };
      expect(line).toMatchObject({ ok: false, error: { code: 'DB_LOCKED' } });
      expect(line.error.message).toContain('stopped while waiting for the local database');
    } finally {
      holder.child.stdin!.end();
      await holder.exited;
      await watch.stop('SIGKILL');
    }
  });

  it('a push whose load cannot get the database commits the snapshot, says the load is pending (exit 3), and the command it prints loads it', async () => {
    const holder = startHolder(dataDir, 'aqe-upload watch');
    await holder.held;
    let push;
    try {
      push = await runCli(['push', '-w', ws, '--json'], { env: { AQE_LOCK_TIMEOUT: '1', AQE_EMBED_BUDGET_SECONDS: '0' }, timeoutMs: 90_000 });
    } finally {
      holder.child.stdin!.end();
      await holder.exited;
    }
    expect(push.code, push.stderr).toBe(3);
    const doc = JSON.parse(push.stdout) as { manifestKey: string; env: string; load: null; pendingLoad: { code: string; fix: string } };
    expect(doc.env).toBe('laptop'); // remembered from the first push
    expect(doc.load).toBeNull();
    expect(doc.pendingLoad).toMatchObject({ code: 'DB_LOCKED', fix: `aqe-upload reconcile --workspace ${ws}` });
    expect(push.stderr).toContain(`snapshot committed, load pending: run \`aqe-upload reconcile --workspace ${ws}\``);
    const snapshotId = doc.manifestKey.split('/')[2]!;
    expect(await readdir(join(ws, '.aqe-sync', 'bucket', 'snapshots', 'laptop'))).toContain(snapshotId);

    const fix = await runCli([...doc.pendingLoad.fix.split(' ').slice(1), '--only', 'load', '--json'], { timeoutMs: 120_000 });
    expect(fix.code, fix.stderr).toBe(0);
    const reconcile = JSON.parse(fix.stdout) as { loads: Array<{ manifestKey: string; status: string }> };
    // every pending snapshot loads (the stopped watch left one too), this push's among them
    expect(reconcile.loads).toContainEqual(expect.objectContaining({ manifestKey: doc.manifestKey, status: 'loaded' }));
    expect(reconcile.loads.every((l) => l.status === 'loaded')).toBe(true);
  });
});

describe('a damaged embedded database', () => {
  it('a table page of garbage: reading it reports the damage and the rebuild command (exit 1)', async () => {
    const file = await relationFile('aqe.qe_patterns');
    const fh = await open(file, 'r+');
    await fh.write(Buffer.alloc(8192, 0x5a), 0, 8192, 0);
    await fh.close();
    const verify = await runCliInProcess(['verify', '-w', ws, '--json'], env);
    expect(verify.code, verify.stderr).toBe(1);
    const doc = JSON.parse(verify.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('DB_DAMAGED');
    expect(doc.error.message).toContain(`the local database ${dataDir} is damaged (`);
    expect(doc.error.message).toContain(`aqe-upload rebuild --workspace ${ws}`);
  });

  it('a catalog cut short: every command exits promptly with the fix, a push commits and leaves the load pending, doctor names it', async () => {
    await truncate(await relationFile('pg_class'), 8192);
    // search as a process (PGlite's WASM leaves 10 s timers behind when it aborts: it must still exit), the others in-process
    for (const args of [['search', 'retry', '-w', ws], ['status', '-w', ws], ['verify', '-w', ws]]) {
      const run = args[0] === 'search' ? await runCli(args, { env, timeoutMs: 60_000 }) : await runCliInProcess(args, env);
      expect(run.code, `${args[0]}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toContain(`the local database ${dataDir} is damaged`);
      expect(run.stderr.trimEnd().split('\n').pop()).toBe(`  aqe-upload rebuild --workspace ${ws}`);
    }
    const push = await runCli(['push', '-w', ws, '--json'], { env, timeoutMs: 90_000 });
    expect(push.code, push.stderr).toBe(3);
    expect(JSON.parse(push.stdout)).toMatchObject({ manifestWritten: true, load: null, pendingLoad: { code: 'DB_DAMAGED', fix: `aqe-upload rebuild --workspace ${ws}` } });
    expect(push.stderr).toContain(`snapshot committed, load pending: run \`aqe-upload rebuild --workspace ${ws}\``);

    const doctor = await runCliInProcess(['doctor', '-w', ws, '--json'], env);
    expect(doctor.code).toBe(1);
    const checks = (JSON.parse(doctor.stdout) as { checks: Array<{ name: string; status: string; fix?: string }> }).checks;
    expect(checks.find((c) => c.name === 'database')).toMatchObject({ status: 'problem', fix: `aqe-upload rebuild --workspace ${ws}` });
    expect(checks.find((c) => c.name === 'bucket')).toMatchObject({ status: 'ok' });
  });

  it('rebuild recreates it from the bucket (the pending snapshot included), keeps the damaged copy, and verify is equal again', async () => {
    const rebuild = await runCli(['rebuild', '-w', ws, '--json'], { env, timeoutMs: 180_000 });
    expect(rebuild.code, rebuild.stderr).toBe(0);
    const r = JSON.parse(rebuild.stdout) as { snapshots: number; loaded: number; duplicate: number; failed: unknown[]; previousFolder: string };
    const snapshots = (await readdir(join(ws, '.aqe-sync', 'bucket', 'snapshots', 'laptop'))).length;
    expect(snapshots).toBeGreaterThanOrEqual(4);
    expect(r).toMatchObject({ snapshots, failed: [] });
    expect(r.loaded + r.duplicate).toBe(snapshots);
    expect(r.previousFolder).toMatch(new RegExp(`^${dataDir}\\.before-rebuild-\\d{8}T\\d{6}Z$`));
    expect(existsSync(join(r.previousFolder, 'PG_VERSION'))).toBe(true);
    expect(rebuild.stderr).toContain(`The previous folder is kept as ${r.previousFolder}`);

    const verify = await runCliInProcess(['verify', '-w', ws, '--json'], env);
    expect(verify.code, verify.stdout).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ env: 'laptop', equal: true });
  });

  it('refuses to rebuild from a bucket without snapshots, leaving the folder as it is', async () => {
    const empty = join(tmp, 'empty-bucket');
    const run = await runCliInProcess(['rebuild', '-w', ws, '--bucket', `file://${empty}`], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`holds no snapshot to rebuild ${dataDir} from; the folder was left as it is`);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    const notLocal = await runCliInProcess(['rebuild', '--database', 'postgres://u@127.0.0.1:1/db'], env);
    expect(notLocal.code).toBe(2);
    expect(notLocal.stderr).toMatch(/rebuild recreates an embedded database folder.*\nTry: aqe-upload reconcile/);
  });
});
