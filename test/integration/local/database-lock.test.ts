// One owner of the embedded database at a time, across real processes: holders never overlap, a
// waiting command names the holder, gives up after its named limit, and proceeds the moment a
// holder is killed with -9; a push whose load cannot get the database reports the snapshot
// committed and the load pending, and the command it prints loads it.

import { type ChildProcess, spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireDatabaseLock, probeDatabaseLock } from '../../../uploader/local/database-lock.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { runCli } from '../faults/support/cli-child.js';
import { tempFolder } from '../uploader/cli-harness.js';
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
    expect(reconcile.loads).toEqual([expect.objectContaining({ manifestKey: doc.manifestKey, status: 'loaded' })]);
  });
});
