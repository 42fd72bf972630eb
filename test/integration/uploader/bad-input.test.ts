// Bad input: each problem gives one clear message naming the file or setting, and the other
// sources are still captured; whole-push problems stop before anything is committed.

import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore, DeleteOptions, PutOptions, PutResult } from '../../../functions/storage/blob-store.js';
import { openBlobStore } from '../../../functions/storage/open-blob-store.js';
import { AppError, isAppError } from '../../../schema/errors.js';
import { parseManifest } from '../../../schema/snapshot/manifest.js';
import { loadConfig } from '../../../uploader/config.js';
import { runPush } from '../../../uploader/push/run-push.js';
import type { GcsServer } from '../../support/gcs-server.js';
import { startGcsServer } from '../../support/gcs-server.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { runCliInProcess, runCliProcess, tempFolder } from './cli-harness.js';

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

async function manifestsIn(store: BlobStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list('snapshots/')) keys.push(o.key);
  return keys;
}

describe('sources that cannot be captured', () => {
  it('are each reported in plain words, the others are captured, and the push exits 3 with the manifest listing them', async () => {
    const root = await builtWorkspace();
    // truncated SQLite (pages missing), SQLite header + garbage, JSON cut short, a folder and a FIFO where files belong
    await truncate(join(root, '.agentic-qe', 'memory.db'), 40_000);
    await writeFile(join(root, '.swarm', 'memory.db'), Buffer.concat([Buffer.from('SQLite format 3\0', 'latin1'), Buffer.alloc(4000, 7)]));
    await writeFile(join(root, '.claude-flow', 'memory', 'store.json'), '{"version": "3", "entries": {"a": ');
    await rm(join(root, '.claude-flow', 'daemon-state.json'));
    await mkdir(join(root, '.claude-flow', 'daemon-state.json'));
    await rm(join(root, 'v3', '.ruvector', 'intelligence.json'));
    execFileSync('mkfifo', [join(root, 'v3', '.ruvector', 'intelligence.json')]);

    const run = await runCliProcess(['push', '--workspace', root, '--env', 'ci', '--json']);
    expect(run.code, run.stderr).toBe(3);
    const result = JSON.parse(run.stdout) as { partial: boolean; manifestKey: string; sources: Array<{ path: string; status: string; code?: string; reason?: string }> };
    expect(result.partial).toBe(true);
    const failed = Object.fromEntries(result.sources.filter((s) => s.status === 'failed').map((s) => [s.path, s]));
    expect(Object.keys(failed).sort()).toEqual(
      ['.agentic-qe/memory.db', '.swarm/memory.db', '.claude-flow/memory/store.json', '.claude-flow/daemon-state.json', 'v3/.ruvector/intelligence.json'].sort(),
    );
    expect(failed['.agentic-qe/memory.db']).toMatchObject({ code: 'SOURCE_CORRUPT' });
    expect(failed['.swarm/memory.db']).toMatchObject({ code: 'SOURCE_CORRUPT' });
    expect(failed['.claude-flow/memory/store.json']?.reason).toMatch(/not valid JSON/);
    expect(failed['.claude-flow/daemon-state.json']?.reason).toMatch(/expected a JSON file, found a folder/);
    expect(failed['v3/.ruvector/intelligence.json']?.reason).toMatch(/named pipe/);
    for (const [path, f] of Object.entries(failed)) expect(f.reason?.startsWith(path), path).toBe(true);
    expect(result.sources.filter((s) => s.status === 'captured').map((s) => s.path)).toContain('v3/.agentic-qe/memory.db');

    const store = await openBlobStore(`file://${join(root, '.aqe-sync', 'bucket')}`);
    const parsed = parseManifest(await store.get(result.manifestKey));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
      const listed = parsed.manifest.sources.filter((s) => s.status === 'failed').map((s) => s.path);
      expect(listed.sort()).toEqual(Object.keys(failed).sort());
    }
  });

  it('a SQLite-named file holding something else is the wrong kind, named with what to do', async () => {
    const root = await builtWorkspace();
    await writeFile(join(root, 'v3', '.agentic-qe', 'memory.db'), '{"not": "sqlite"}');
    const run = await runCliInProcess(['sources', '--workspace', root, '--json']);
    expect(run.code).toBe(0);
    const inv = JSON.parse(run.stdout) as { sources: Array<{ path: string; state: string; problem: { code: string; message: string } | null }>; problems: string[] };
    const v3 = inv.sources.find((s) => s.path === 'v3/.agentic-qe/memory.db')!;
    expect(v3.state).toBe('problem');
    expect(v3.problem?.code).toBe('SOURCE_WRONG_KIND');
    expect(v3.problem?.message).toMatch(/expected a SQLite database .* found a JSON document; point "sources\.v3-memory\.paths"/);
    expect(inv.problems).toHaveLength(1);
  });
});

/** A real local store whose put fails for the blob of one content. */
class FailingStore implements BlobStore {
  constructor(
    private readonly inner: BlobStore,
    private readonly failWhen: (key: string) => boolean,
  ) {}
  get url() {
    return this.inner.url;
  }
  async put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<PutResult> {
    if (this.failWhen(key)) {
      if (!Buffer.isBuffer(body)) body.destroy();
      throw new AppError('BUCKET_UNREACHABLE', `cannot write ${key}: connection reset`, { transient: true });
    }
    return this.inner.put(key, body, options);
  }
  get = (key: string) => this.inner.get(key);
  getStream = (key: string) => this.inner.getStream(key);
  exists = (key: string) => this.inner.exists(key);
  stat = (key: string) => this.inner.stat(key);
  list = (prefix: string) => this.inner.list(prefix);
  delete = (key: string, options?: DeleteOptions) => this.inner.delete(key, options);
  touch = (key: string) => this.inner.touch(key);
  check = (probeKey?: string) => this.inner.check(probeKey);
}

describe('a blob upload that fails', () => {
  it('leaves no manifest, so no snapshot is committed', async () => {
    const root = await builtWorkspace();
    const config = loadConfig({ flags: {}, env: {}, workspace: root, configText: null });
    const inner = await openBlobStore(config.bucket);
    let failures = 0;
    const store = new FailingStore(inner, (key) => key.startsWith('blobs/') && failures++ === 2);
    const err = await runPush({ config, store }).catch((e: unknown) => e);
    expect(isAppError(err, 'BUCKET_UNREACHABLE')).toBe(true);
    expect((err as Error).message).toMatch(/No manifest was written/);
    expect(await manifestsIn(inner)).toEqual([]);
    let storedBefore = 0;
    for await (const _ of inner.list('blobs/')) storedBefore++;
    expect(storedBefore).toBeGreaterThanOrEqual(2);
    // A retry completes the snapshot, sending only what is missing.
    const retry = await runPush({ config, store: inner });
    expect(retry.sources.filter((s) => s.status === 'captured' && !s.newBlob)).toHaveLength(storedBefore);
    expect(retry.totals.newBlobs).toBe(retry.totals.captured - storedBefore);
    expect(await manifestsIn(inner)).toEqual([retry.manifestKey]);
  });
});

describe('whole-push problems', () => {
  let gcs: GcsServer;
  beforeAll(async () => {
    gcs = await startGcsServer();
  });
  afterAll(async () => {
    await gcs.close();
  });

  it('a workspace that does not exist: exit 2 naming it', async () => {
    const run = await runCliProcess(['push', '--workspace', '/nonexistent/aqe-ws']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/workspace \/nonexistent\/aqe-ws does not exist/);
    expect(run.stderr).toMatch(/Try: aqe-upload/);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('a bad bucket URL: exit 2 naming the setting, with a Try line', async () => {
    const root = await builtWorkspace();
    const run = await runCliProcess(['push', '--workspace', root, '--bucket', 's3://bucket/x']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/bucket URL "s3:\/\/bucket\/x": unsupported scheme "s3:"/);
    expect(run.stderr.trimEnd().split('\n').pop()).toMatch(/^Try: aqe-upload /);
    const viaEnv = await runCliProcess(['push', '--workspace', root], { AQE_BUCKET: 'gs://Bad_Bucket' });
    expect(viaEnv.code).toBe(2);
    expect(viaEnv.stderr).toMatch(/Bad_Bucket/);
  });

  it('a config file with several mistakes: exit 2 listing every one with its JSON path', async () => {
    const root = await builtWorkspace();
    await writeFile(
      join(root, 'aqe-sync.config.json'),
      JSON.stringify({ env: 'Laptop!', sources: { 'v3-memory': { role: 'MAIN' }, 'no-such': {} }, extraSources: [{ id: 'x', path: '../outside.db' }], colour: 'red' }),
    );
    const run = await runCliInProcess(['sources', '--workspace', root]);
    expect(run.code).toBe(2);
    for (const fragment of ['env:', 'sources.v3-memory.role: expected one of PRIMARY', 'sources.no-such: unknown source id', 'extraSources[0].path', 'unknown key "colour"']) {
      expect(run.stderr).toContain(fragment);
    }
  });

  it('a GCS bucket that does not exist: exit 1 naming the bucket, nothing captured first', async () => {
    const root = await builtWorkspace();
    const store = await openBlobStore('gs://aqe-missing-bucket', { gcs: { apiEndpoint: gcs.endpoint, projectId: 'test' }, gcsRetry: { maxRetries: 0 } });
    const config = loadConfig({ flags: { bucket: 'gs://aqe-missing-bucket' }, env: {}, workspace: root, configText: null });
    const err = await runPush({ config, store }).catch((e: unknown) => e);
    expect(isAppError(err, 'BUCKET_NOT_FOUND')).toBe(true);
    expect((err as Error).message).toMatch(/aqe-missing-bucket/);

    // The same through the real CLI (the client honours STORAGE_EMULATOR_HOST).
    const run = await runCliProcess(['push', '--workspace', root, '--bucket', 'gs://aqe-missing-bucket', '--json'], { STORAGE_EMULATOR_HOST: gcs.endpoint });
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/aqe-missing-bucket/);
    expect((JSON.parse(run.stdout) as { error: { code: string } }).error.code).toBe('BUCKET_NOT_FOUND');
  });
});

describe('an unreadable config file', () => {
  it('is reported as a usage problem naming the file', async () => {
    const root = await builtWorkspace();
    await mkdir(join(root, 'aqe-sync.config.json'));
    const run = await runCliInProcess(['sources', '--workspace', root]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/aqe-sync\.config\.json is not a regular file/);
    expect(await readFile(join(root, '.claude-flow', 'memory', 'store.json'), 'utf8')).toMatch(/entries/);
  });
});
