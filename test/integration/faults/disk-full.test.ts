// Disk full in a local bucket (file:// on a tiny tmpfs), through the real CLI: a push bigger than
// the space, and a disk that fills exactly when the manifest is written. Each fails with exit 1
// and a DISK_FULL error naming ENOSPC ("no space left"), the bucket path and what to do; nothing
// half-written is visible (no manifest, no partial blob at its final name, no temp file left);
// once space is freed (the tmpfs grown, the filler deleted) the next push completes.

import { mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { tempDir } from '../../e2e/support/e2e-fixtures.js';
import { type BuiltWorkspace, buildWorkspace } from '../../support/workspace-builder.js';
import { type BucketAudit, BucketAuditor, localTempFiles } from './support/bucket-audit.js';
import { type CliExit, pushJson, runCli } from './support/cli-child.js';
import { mountTmpfs, type TmpfsMount } from './support/tmpfs-mount.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let ws: BuiltWorkspace;
const mounts: TmpfsMount[] = [];

beforeAll(async () => {
  tmp = await tempDir('aqe-disk-full-');
  // Plan volume: ~4.2 MB of blobs, more than the 2 MB disk.
  ws = await buildWorkspace(join(tmp.dir, 'ws'), { volume: 'plan', seed: 17 });
});
afterAll(async () => {
  for (const m of mounts) await m.unmount();
  await ws?.close();
  await tmp?.remove();
});

async function disk(name: string, size: string): Promise<TmpfsMount> {
  const dir = join(tmp.dir, name);
  await mkdir(dir);
  const mount = await mountTmpfs(dir, size);
  mounts.push(mount);
  return mount;
}

function push(mount: TmpfsMount): Promise<CliExit> {
  return runCli(['push', '--no-load', '--json', '--workspace', ws.root, '--env', 'laptop', '--bucket', pathToFileURL(join(mount.path, 'bucket')).href], { wrap: mount.wrap });
}

/** `at`: the object whose write failed; a blob failure also says that no snapshot was committed. */
function expectDiskFullError(run: CliExit, mount: TmpfsMount, at: 'blob' | 'manifest'): void {
  expect(run.code, run.stderr).toBe(1);
  expect(pushJson(run)?.error?.code).toBe('DISK_FULL');
  const message = run.stderr;
  expect(message).toMatch(/no space left/i);
  expect(message).toContain(join(mount.path, 'bucket'));
  expect(message).toMatch(/free space on the disk holding \S+ \(or raise the quota\), then retry/);
  if (at === 'blob') {
    expect(message).toMatch(/key "blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.(?:gz|zst)"/);
    expect(message).toMatch(/No manifest was written, so no snapshot was committed; run the push again/);
  } else {
    expect(message).toMatch(/key "snapshots\/laptop\/[0-9A-Z]{26}\/manifest\.json"/);
    expect(message).toMatch(/The manifest was not written, so no snapshot was committed; run the push again/);
  }
  expect(message, 'a stack trace reached the user').not.toMatch(/\n\s+at /);
}

async function audit(mount: TmpfsMount): Promise<BucketAudit & { temp: string[] }> {
  const root = join(mount.hostPath, 'bucket');
  return { ...(await new BucketAuditor(new LocalDirBlobStore(root)).audit()), temp: await localTempFiles(root) };
}

describe('a local bucket on a full disk', () => {
  it('a push bigger than the free space fails clearly with nothing half-written visible, and succeeds once the disk is grown', async () => {
    const small = await disk('disk-2m', '2m');
    const failed = await push(small);
    expectDiskFullError(failed, small, 'blob');
    const after = await audit(small);
    expect(after.violations).toEqual([]);
    expect(after.manifests).toEqual([]);
    expect(after.temp, 'temp files of the failed writes were left behind').toEqual([]);

    await small.resize('64m');
    const again = await push(small);
    expect(again.code, again.stderr).toBe(0);
    const json = pushJson(again)!;
    expect(json.partial).toBe(false);
    const done = await audit(small);
    expect(done.violations).toEqual([]);
    expect(done.manifests).toEqual([json.manifestKey]);
    // Blobs stored before the disk filled are kept and not sent again.
    expect(json.totals!.newBlobs).toBe(done.blobs.length - after.blobs.length);
    console.info(
      `disk full (${small.mode} tmpfs of 2 MB): exit ${failed.code} after ${after.blobs.length} complete blobs, ${failed.stderr.split('\n')[0]}; ` +
        `grown to 64 MB: push completed with ${json.totals!.newBlobs} new blobs`,
    );
  });

  it('a disk that fills exactly when the manifest is written: no manifest appears, and the push succeeds once the filler is deleted', async () => {
    const mount = await disk('disk-8m', '8m');
    const first = await push(mount);
    expect(first.code, first.stderr).toBe(0);
    const before = await audit(mount);
    expect(before.manifests).toHaveLength(1);

    // Leave one free page: the bucket check's probe file fits, a manifest (~15 KB) does not.
    const filler = join(mount.hostPath, 'filler');
    const fs = await statfs(mount.hostPath);
    await writeFile(filler, Buffer.alloc((fs.bavail - 1) * fs.bsize, 1));
    expect((await statfs(mount.hostPath)).bavail).toBe(1);

    // The workspace is unchanged: this push stores no blob, only its manifest.
    const failed = await push(mount);
    expectDiskFullError(failed, mount, 'manifest');
    const after = await audit(mount);
    expect(after.violations).toEqual([]);
    expect(after.manifests).toEqual(before.manifests);
    expect(after.blobs).toEqual(before.blobs);
    expect(after.temp).toEqual([]);

    await rm(filler);
    const again = await push(mount);
    expect(again.code, again.stderr).toBe(0);
    const key = pushJson(again)!.manifestKey!;
    const done = await audit(mount);
    expect(done.violations).toEqual([]);
    expect(done.manifests).toEqual([...before.manifests, key].sort());
    console.info(`disk full at the manifest (${mount.mode} tmpfs): ${failed.stderr.split('\n')[0]}`);
  });
});
