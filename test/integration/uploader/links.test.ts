// Links never leave the workspace, and file contents are never quoted. A source that is a link (or
// lies under a linked folder) leading outside the workspace is refused, unless its source opts in
// with `followLinksOutside`; nothing of the outside file reaches the bucket (no blob, no word of it
// in a manifest) or the database. A source that is not what it should be is reported without a
// byte of its content, on push (the manifest) and on load (the quarantine report).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConnection } from '../../../functions/db/database.js';
import { loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import type { BlobStore } from '../../../functions/storage/blob-store.js';
import { openBlobStore } from '../../../functions/storage/open-blob-store.js';
import { WORKSPACE_CONFIG_FILE } from '../../../schema/config/workspace-config.js';
import { loadConfig } from '../../../uploader/config.js';
import { runPush } from '../../../uploader/push/run-push.js';
import { snapshotIdFor, targetRowTotal, tempDir, writeSnapshot } from '../../e2e/support/e2e-fixtures.js';
import { openTestPglite } from '../../support/postgres.js';

const SHADOW = 'root:$6$saltsalt$Hh2bP0secretHASHvalue:19500:0:99999:7:::\ndaemon:*:19500:0:99999:7:::\n';
const CREDENTIAL = '{"client_secret": "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d"}';
const SECRETS = ['saltsalt', 'secretHASH', 'GOCSPX', 'very-secret-credential', 'root:', 'daemon:*'];

/** Every object of the bucket as text (blobs gunzipped): what a reader of the bucket could see. */
async function bucketText(store: BlobStore): Promise<string> {
  let all = '';
  for await (const o of store.list('')) {
    const bytes = await store.get(o.key);
    all += `\n${o.key}\n${o.key.endsWith('.gz') ? gunzipSync(bytes).toString('latin1') : bytes.toString('latin1')}`;
  }
  return all;
}

function expectNoSecret(text: string): void {
  for (const s of SECRETS) expect(text).not.toContain(s);
}

describe('links', () => {
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let outside: string;
  let db: DatabaseConnection;

  beforeAll(async () => {
    tmp = await tempDir('aqe-links-');
    outside = join(tmp.dir, 'outside');
    mkdirSync(join(outside, 'creds'), { recursive: true });
    writeFileSync(join(outside, 'creds', 'credentials.json'), CREDENTIAL);
    writeFileSync(join(outside, 'shadow'), SHADOW);
    db = await openTestPglite();
  });
  afterAll(async () => {
    await db?.close();
    await tmp?.remove();
  });

  /** A workspace whose metrics folder and daemon state are links to the outside. */
  function workspace(name: string, config?: unknown): string {
    const ws = join(tmp.dir, name);
    mkdirSync(join(ws, '.claude-flow/memory'), { recursive: true });
    writeFileSync(join(ws, '.claude-flow/memory/store.json'), JSON.stringify({ version: '3.0.0', entries: { a: { key: 'a', value: 1 } } }));
    symlinkSync(join(outside, 'creds'), join(ws, '.claude-flow/metrics'));
    symlinkSync(join(outside, 'shadow'), join(ws, '.claude-flow/daemon-state.json'));
    // a link that stays inside the workspace is fine
    mkdirSync(join(ws, 'data'), { recursive: true });
    writeFileSync(join(ws, 'data/intelligence.json'), JSON.stringify({ memories: [{ id: 'm1', content: 'inside' }] }));
    mkdirSync(join(ws, 'v3/.ruvector'), { recursive: true });
    symlinkSync('../../data/intelligence.json', join(ws, 'v3/.ruvector/intelligence.json'));
    if (config !== undefined) writeFileSync(join(ws, WORKSPACE_CONFIG_FILE), JSON.stringify(config));
    return ws;
  }

  async function push(ws: string, configText: string | null) {
    const bucket = `file://${join(ws, '..', `${ws.split('/').pop()}-bucket`)}`;
    const config = loadConfig({ flags: { bucket, env: 'laptop' }, env: {}, workspace: ws, configText });
    const store = await openBlobStore(bucket);
    return { store, result: await runPush({ config, store }) };
  }

  it('refuses a linked file or folder that leads outside the workspace, naming the setting; nothing of it reaches the bucket or the database', async () => {
    const ws = workspace('ws-default');
    const { store, result } = await push(ws, null);
    const byPath = new Map(result.sources.map((s) => [s.path, s]));
    for (const path of ['.claude-flow/metrics', '.claude-flow/daemon-state.json']) {
      expect(byPath.get(path)).toMatchObject({ status: 'failed', code: 'SOURCE_OUTSIDE_WORKSPACE' });
      expect(byPath.get(path)?.reason).toMatch(/is a link \(or lies under a linked folder\) that leads outside the workspace, so it is not captured.*"sources\.claude-flow-(metrics|daemon)\.followLinksOutside": true in aqe-sync\.config\.json/);
      // the target is not named: an absolute path outside the workspace is not for the manifest
      expect(byPath.get(path)?.reason).not.toContain(outside);
    }
    expect(result.partial).toBe(true);
    expect(byPath.get('v3/.ruvector/intelligence.json')).toMatchObject({ status: 'captured' });
    expect(byPath.get('.claude-flow/memory/store.json')).toMatchObject({ status: 'captured' });
    expectNoSecret(await bucketText(store));

    const out = await loadSnapshot({ store, db }, result.manifestKey!);
    expect(out.status).toBe('loaded');
    const rows = await db.query<{ t: string }>(`SELECT row::text AS t FROM aqe.source_rows UNION ALL SELECT data::text FROM aqe.metrics UNION ALL SELECT coalesce(extra::text, '') FROM aqe.claude_flow_workers`);
    expectNoSecret(rows.rows.map((r) => r.t).join('\n'));
    expect(await targetRowTotal(db)).toBeGreaterThan(0);
  });

  it('follows such a link when its source opts in with followLinksOutside', async () => {
    const ws = workspace('ws-opt-in', { sources: { 'claude-flow-metrics': { followLinksOutside: true } } });
    const { result } = await push(ws, JSON.stringify({ sources: { 'claude-flow-metrics': { followLinksOutside: true } } }));
    const byPath = new Map(result.sources.map((s) => [s.path, s]));
    expect(byPath.get('.claude-flow/metrics/credentials.json')).toMatchObject({ status: 'captured' });
    // the other link did not opt in
    expect(byPath.get('.claude-flow/daemon-state.json')).toMatchObject({ status: 'failed', code: 'SOURCE_OUTSIDE_WORKSPACE' });
  });

  it('never quotes the content of a file that is not what it should be (push: the manifest)', async () => {
    const ws = join(tmp.dir, 'ws-not-json');
    mkdirSync(join(ws, '.claude-flow/memory'), { recursive: true });
    // inside the workspace, but not JSON: the reason says so without a byte of it
    writeFileSync(join(ws, '.claude-flow/daemon-state.json'), `{${SHADOW}`);
    writeFileSync(join(ws, '.claude-flow/memory/store.json'), `{"entries": ${SHADOW}}`);
    const { store, result } = await push(ws, null);
    for (const path of ['.claude-flow/daemon-state.json', '.claude-flow/memory/store.json']) {
      const s = result.sources.find((x) => x.path === path);
      expect(s).toMatchObject({ status: 'failed', code: 'SOURCE_CORRUPT' });
      expect(s?.reason).toMatch(/is not valid JSON \((an unexpected character|a syntax error)/);
    }
    expectNoSecret(JSON.stringify(result.sources));
    expectNoSecret(await bucketText(store));
  });

  it('never quotes the content of a source on load (the quarantine report and row)', async () => {
    const store = await openBlobStore(`file://${join(tmp.dir, 'bucket-hostile')}`);
    const written = await writeSnapshot(store, {
      env: 'hostile',
      snapshotId: snapshotIdFor(1),
      sources: [
        { path: '.claude-flow/daemon-state.json', sourceId: 'claude-flow-daemon', format: 'claude-flow-daemon', bytes: Buffer.from(`{"workers": ${SHADOW}}`) },
        { path: 'v3/.agentic-qe/memory.db', sourceId: 'v3-memory', format: 'sqlite', kind: 'sqlite', bytes: Buffer.from(SHADOW.repeat(4)) },
      ],
    });
    const out = await loadSnapshot({ store, db }, written.manifestKey);
    expect(out.status).toBe('quarantined');
    if (out.status !== 'quarantined') return;
    expectNoSecret(out.reason);
    expectNoSecret((await store.get(out.reportKey)).toString());
    const q = await db.query<{ reason: string; report: unknown }>(`SELECT reason, report FROM aqe.quarantine WHERE env = 'hostile'`);
    expectNoSecret(JSON.stringify(q.rows));
  });
});
