// What leaves the machine, and how one bad source fails alone: a SQLite file with more tables than
// a manifest lists per source fails that source (the push completes, partial: exit 3), a source
// locked by another process is reported as locked (not as ENOENT on a temp copy), failure reasons
// carry workspace-relative paths only, and no host name reaches the bucket unless one is configured.
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBlobStore } from '../../../functions/storage/open-blob-store.js';
import { loadConfig } from '../../../uploader/config.js';
import { runPush } from '../../../uploader/push/run-push.js';
import { tempDir } from '../../e2e/support/e2e-fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('aqe-leaves-');
});
afterAll(async () => {
  await tmp?.remove();
});

async function push(ws: string, env: Record<string, string> = {}) {
  const bucket = `file://${join(tmp.dir, `${ws.split('/').pop()}-bucket`)}`;
  const config = loadConfig({ flags: { bucket, env: 'laptop' }, env, workspace: ws, configText: null });
  return runPush({ config, store: await openBlobStore(bucket) });
}

function workspace(name: string): string {
  const ws = join(tmp.dir, name);
  mkdirSync(join(ws, '.claude-flow/memory'), { recursive: true });
  writeFileSync(join(ws, '.claude-flow/memory/store.json'), JSON.stringify({ version: '3.0.0', entries: { a: { key: 'a', value: 1 } } }));
  return ws;
}

describe('one bad source fails alone', () => {
  it('a SQLite file with more than 10,000 tables fails that source; the others are captured and the manifest is written', async () => {
    const ws = workspace('ws-tables');
    mkdirSync(join(ws, 'v3/.agentic-qe'), { recursive: true });
    const db = new Database(join(ws, 'v3/.agentic-qe/memory.db'));
    db.exec('BEGIN');
    for (let i = 0; i <= 10_000; i++) db.exec(`CREATE TABLE t${i} (a)`);
    db.exec('COMMIT');
    db.close();
    const result = await push(ws);
    expect(result.manifestWritten).toBe(true);
    expect(result.partial).toBe(true);
    const v3 = result.sources.find((s) => s.path === 'v3/.agentic-qe/memory.db');
    expect(v3).toMatchObject({ status: 'failed', code: 'VALUE_INVALID' });
    expect(v3?.reason).toMatch(/^v3\/\.agentic-qe\/memory\.db: holds 10,001 tables or collections, more than the 10,000 a snapshot records for one source/);
    expect(result.sources.find((s) => s.path === '.claude-flow/memory/store.json')).toMatchObject({ status: 'captured' });
  });

  it('a SQLite source locked by another process is reported as locked, not as a missing temp copy', async () => {
    const ws = workspace('ws-locked');
    mkdirSync(join(ws, 'v3/.agentic-qe'), { recursive: true });
    const file = join(ws, 'v3/.agentic-qe/memory.db');
    const db = new Database(file);
    db.exec('CREATE TABLE kv_store (namespace TEXT, key TEXT, value TEXT); INSERT INTO kv_store VALUES (1, 2, 3)');
    db.close();
    const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
    const holder = spawn(process.execPath, ['-e', `const D = require(${JSON.stringify(sqlite)}); const d = new D(${JSON.stringify(file)}); d.exec('BEGIN EXCLUSIVE'); d.exec("INSERT INTO kv_store VALUES (4, 5, 6)"); console.log('locked'); setTimeout(() => {}, 60000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise((resolve) => holder.stdout.once('data', resolve));
      const result = await push(ws);
      const v3 = result.sources.find((s) => s.path === 'v3/.agentic-qe/memory.db');
      expect(v3).toMatchObject({ status: 'failed', code: 'SNAPSHOT_FAILED' });
      expect(v3?.reason).toMatch(/another process holds an exclusive lock on it/);
      expect(v3?.reason).not.toMatch(/ENOENT/);
    } finally {
      holder.kill();
    }
  });
});

describe('what reaches the bucket', () => {
  it('failure reasons name workspace-relative paths only, and no host name unless configured', async () => {
    const ws = workspace('ws-paths');
    // a link loop: the file system's error names the absolute path
    symlinkSync('daemon-state.json', join(ws, '.claude-flow/daemon-state.json'));
    const result = await push(ws);
    const daemon = result.manifest.sources.find((s) => s.path === '.claude-flow/daemon-state.json');
    expect(daemon).toMatchObject({ status: 'failed' });
    const text = JSON.stringify(result.manifest);
    for (const local of [ws, tmp.dir, tmpdir(), homedir()].filter((p) => p.length > 1)) expect(text).not.toContain(local);
    expect(daemon?.status === 'failed' ? daemon.reason : '').toMatch(/^\.claude-flow\/daemon-state\.json: cannot be read \(ELOOP: too many symbolic links encountered, stat '\.claude-flow\/daemon-state\.json'\)/);
    expect(result.manifest.host).toBeUndefined();

    const labelled = await push(ws, { AQE_HOST: 'alice-laptop' });
    expect(labelled.manifest.host).toBe('alice-laptop');
  });
});
