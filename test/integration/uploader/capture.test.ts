// Capture details: JSON files caught mid-rewrite, redb files @ruvector/core cannot open, and temp
// copies that never outlive the push.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STALE_SCRATCH_AGE_MS } from '../../../functions/runtime/scratch-dir.js';
import { loadConfig } from '../../../uploader/config.js';
import { runPush } from '../../../uploader/push/run-push.js';
import { REDB_MAGIC } from '../../../uploader/workspace/content-kind.js';
import { readJsonWhole } from '../../../uploader/snapshot/json-snapshot.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { tempFolder } from './cli-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function builtWorkspace(): Promise<string> {
  const t = await tempFolder();
  cleanups.push(t.remove);
  const ws = await buildWorkspace(t.dir, { volume: 'small' });
  await ws.close();
  return t.dir;
}

describe('JSON files rewritten in place', () => {
  it('are read again when caught half-written, and captured whole', async () => {
    const root = await builtWorkspace();
    const path = join(root, '.claude-flow', 'memory', 'store.json');
    const whole = await readFile(path);
    await writeFile(path, whole.subarray(0, Math.floor(whole.length / 2)));
    const finish = new Promise<void>((resolve) => setTimeout(() => void writeFile(path, whole).then(() => resolve()), 80));
    const read = await readJsonWhole(path, { attempts: 5, delayMs: 100 });
    await finish;
    expect(read.bytes.equals(whole)).toBe(true);
  });
});

describe('a redb file that cannot be read', () => {
  it('is still stored as an opaque blob, without counts and with a warning', async () => {
    const root = await builtWorkspace();
    await writeFile(join(root, 'v2', 'data', 'ruvector-patterns.db'), Buffer.concat([REDB_MAGIC, Buffer.alloc(20_000, 0xab)]));
    const config = loadConfig({ flags: {}, env: {}, workspace: root, configText: null });
    const result = await runPush({ config });
    expect(result.partial).toBe(false);
    const redb = result.sources.find((s) => s.path === 'v2/data/ruvector-patterns.db')!;
    expect(redb).toMatchObject({ status: 'captured', format: 'ruvector-redb', tables: [] });
    expect(redb.warnings[0]).toMatch(/ruvector-patterns\.db: not a readable redb 2\.x file .*its vectors were not counted \(the file is stored as is\)/);
    const meta = result.sources.find((s) => s.path === 'v2/data/ruvector-patterns.db.meta.json')!;
    expect(meta).toMatchObject({ status: 'captured', sourceId: 'ruvector-patterns', format: 'ruvector-redb-meta' });
  });
});

describe('temp copies', () => {
  it('are removed after a push, a dry run and a failed push; those of a killed push are swept', async () => {
    const root = await builtWorkspace();
    // A temp root of this test's own: other test files run at the same time (forks) and their
    // killed pushes leave aqe-upload-* folders in the shared temp dir. os.tmpdir() reads TMPDIR
    // on every call, so the push under test puts its copies here.
    const own = await tempFolder();
    cleanups.push(own.remove);
    const savedTmp = process.env['TMPDIR'];
    process.env['TMPDIR'] = own.dir;
    cleanups.push(async () => {
      if (savedTmp === undefined) delete process.env['TMPDIR'];
      else process.env['TMPDIR'] = savedTmp;
    });
    expect(tmpdir()).toBe(own.dir);
    // and the copies of a push killed with SIGKILL an hour ago (its pid gone) are swept
    const dead = Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
    const stale = join(own.dir, `aqe-upload-${dead}-killed`);
    await mkdir(join(stale, 'copies'), { recursive: true });
    await writeFile(join(stale, 'copies', '0'), 'a copy');
    const hourAgo = new Date(Date.now() - STALE_SCRATCH_AGE_MS - 60_000);
    await utimes(stale, hourAgo, hourAgo);
    const before = new Set((await readdir(tmpdir())).filter((n) => n.startsWith('aqe-upload-') && n !== `aqe-upload-${dead}-killed`));
    const config = loadConfig({ flags: {}, env: {}, workspace: root, configText: null });
    await runPush({ config });
    await runPush({ config, dryRun: true });
    const bad = loadConfig({ flags: { bucket: `file://${join(root, 'v3', '.agentic-qe', 'memory.db')}` }, env: {}, workspace: root, configText: null });
    await expect(runPush({ config: bad })).rejects.toThrow();
    const after = (await readdir(tmpdir())).filter((n) => n.startsWith('aqe-upload-') && !before.has(n));
    expect(after).toEqual([]);
    expect(existsSync(stale)).toBe(false);
  });
});
