// Scratch folders left by killed processes are swept; live ones, fresh ones and foreign ones stay.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeScratchDir, STALE_SCRATCH_AGE_MS, sweepStaleScratch } from './scratch-dir.js';

let parent: string | undefined;
afterEach(async () => {
  if (parent) await rm(parent, { recursive: true, force: true });
  parent = undefined;
});

/** The pid of a process that has exited (its pid is free). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

async function folder(name: string, ageMs: number): Promise<void> {
  const path = join(parent!, name);
  await mkdir(path);
  await mkdir(join(path, 'inner'));
  const at = new Date(Date.now() - ageMs);
  await utimes(path, at, at);
}

describe('scratch folders', () => {
  it('removes those of a process that is gone and untouched for an hour, and nothing else', async () => {
    parent = await mkdtemp(join(tmpdir(), 'aqe-scratch-test-'));
    const dead = deadPid();
    const old = STALE_SCRATCH_AGE_MS + 60_000;
    await folder(`aqe-upload-${dead}-aaaaaa`, old);
    await folder(`aqe-load-${dead}-bbbbbb`, old);
    await folder(`aqe-redb-${dead}-cccccc`, old);
    await folder(`aqe-load-${dead}-fresh0`, 1_000);
    await folder(`aqe-upload-${process.pid}-alive0`, old);
    await folder(`aqe-upload-${process.ppid}-parent`, old);
    await folder('aqe-upload-Xy12ab', old);
    await folder(`aqe-demo-${dead}-dddddd`, old);

    const removed = await sweepStaleScratch(parent);

    expect(removed.sort()).toEqual([`aqe-load-${dead}-bbbbbb`, `aqe-redb-${dead}-cccccc`, `aqe-upload-${dead}-aaaaaa`]);
    expect((await readdir(parent)).sort()).toEqual(
      [`aqe-demo-${dead}-dddddd`, `aqe-load-${dead}-fresh0`, `aqe-upload-${process.ppid}-parent`, `aqe-upload-${process.pid}-alive0`, 'aqe-upload-Xy12ab'].sort(),
    );
  });

  it('makes a folder named for this process, after sweeping', async () => {
    parent = await mkdtemp(join(tmpdir(), 'aqe-scratch-test-'));
    const dead = deadPid();
    await folder(`aqe-load-${dead}-stale0`, STALE_SCRATCH_AGE_MS + 60_000);
    const dir = await makeScratchDir('load', parent);
    expect(dir).toMatch(new RegExp(`/aqe-load-${process.pid}-[A-Za-z0-9]{6}$`));
    expect(await readdir(parent)).toEqual([dir.slice(parent.length + 1)]);
  });

  it('returns nothing for a parent that does not exist', async () => {
    expect(await sweepStaleScratch(join(tmpdir(), 'aqe-scratch-test-missing', 'x'))).toEqual([]);
  });
});
