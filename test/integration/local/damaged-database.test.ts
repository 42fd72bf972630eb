// A damaged embedded database (a catalog that cannot be read back, a table page full of garbage)
// is detected when it is opened or read: every command exits with the fix instead of hanging,
// `doctor` names it, and `rebuild` recreates it from the bucket's snapshots with the damaged copy
// kept aside — after which the workspace equals the database again.

import { existsSync } from 'node:fs';
import { open, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withOpenDatabase } from '../../../uploader/local/local-database.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { runCli } from '../faults/support/cli-child.js';
import { tempFolder } from '../uploader/cli-harness.js';

const env = { AQE_EMBED_BUDGET_SECONDS: '0' };
let tmp: { dir: string; remove: () => Promise<void> };
let ws: string;
let dataDir: string;

/** The file of a relation inside the data folder. */
async function relationFile(relation: string): Promise<string> {
  const path = await withOpenDatabase(`pglite://${dataDir}`, async (db) => (await db.query<{ p: string }>('SELECT pg_relation_filepath($1) AS p', [relation])).rows[0]!.p);
  return join(dataDir, path);
}

beforeAll(async () => {
  tmp = await tempFolder('aqe-damaged-');
  ws = join(tmp.dir, 'ws');
  const built = await buildWorkspace(ws, { volume: 'small', seed: 7 });
  await built.close();
  const push = await runCli(['push', '-w', ws, '--env', 'laptop', '-q'], { env });
  expect(push.code, push.stderr).toBe(0);
  dataDir = join(ws, '.aqe-sync', 'db');
});
afterAll(async () => {
  await tmp?.remove();
});

describe('a damaged embedded database', () => {
  it('a table page of garbage: reading it reports the damage and the rebuild command (exit 1)', async () => {
    const file = await relationFile('aqe.qe_patterns');
    const fh = await open(file, 'r+');
    await fh.write(Buffer.alloc(8192, 0x5a), 0, 8192, 0);
    await fh.close();
    const verify = await runCli(['verify', '-w', ws, '--json'], { env, timeoutMs: 90_000 });
    expect(verify.code, verify.stderr).toBe(1);
    const doc = JSON.parse(verify.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('DB_DAMAGED');
    expect(doc.error.message).toContain(`the local database ${dataDir} is damaged (`);
    expect(doc.error.message).toContain(`aqe-upload rebuild --workspace ${ws}`);
  });

  it('a catalog cut short: every command exits promptly with the fix, a push commits and leaves the load pending, doctor names it', async () => {
    await truncate(await relationFile('pg_class'), 8192);
    for (const args of [['status', '-w', ws], ['search', 'retry', '-w', ws], ['verify', '-w', ws]]) {
      const run = await runCli(args, { env, timeoutMs: 60_000 });
      expect(run.code, `${args[0]}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toContain(`the local database ${dataDir} is damaged`);
      expect(run.stderr.trimEnd().split('\n').pop()).toBe(`  aqe-upload rebuild --workspace ${ws}`);
    }
    const push = await runCli(['push', '-w', ws, '--json'], { env, timeoutMs: 90_000 });
    expect(push.code, push.stderr).toBe(3);
    expect(JSON.parse(push.stdout)).toMatchObject({ manifestWritten: true, load: null, pendingLoad: { code: 'DB_DAMAGED', fix: `aqe-upload rebuild --workspace ${ws}` } });
    expect(push.stderr).toContain(`snapshot committed, load pending: run \`aqe-upload rebuild --workspace ${ws}\``);

    const doctor = await runCli(['doctor', '-w', ws, '--json'], { env, timeoutMs: 60_000 });
    expect(doctor.code).toBe(1);
    const checks = (JSON.parse(doctor.stdout) as { checks: Array<{ name: string; status: string; fix?: string }> }).checks;
    expect(checks.find((c) => c.name === 'database')).toMatchObject({ status: 'problem', fix: `aqe-upload rebuild --workspace ${ws}` });
    expect(checks.find((c) => c.name === 'bucket')).toMatchObject({ status: 'ok' });
  });

  it('rebuild recreates it from the bucket (the pending snapshot included), keeps the damaged copy, and verify is equal again', async () => {
    const rebuild = await runCli(['rebuild', '-w', ws, '--json'], { env, timeoutMs: 180_000 });
    expect(rebuild.code, rebuild.stderr).toBe(0);
    const r = JSON.parse(rebuild.stdout) as { snapshots: number; loaded: number; duplicate: number; failed: unknown[]; previousFolder: string };
    expect(r).toMatchObject({ snapshots: 2, failed: [] });
    expect(r.loaded + r.duplicate).toBe(2);
    expect(r.previousFolder).toMatch(new RegExp(`^${dataDir}\\.before-rebuild-\\d{8}T\\d{6}Z$`));
    expect(existsSync(join(r.previousFolder, 'PG_VERSION'))).toBe(true);
    expect(rebuild.stderr).toContain(`The previous folder is kept as ${r.previousFolder}`);

    const verify = await runCli(['verify', '-w', ws, '--json'], { env, timeoutMs: 90_000 });
    expect(verify.code, verify.stdout).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ env: 'laptop', equal: true });
  });

  it('refuses to rebuild from a bucket without snapshots, leaving the folder as it is', async () => {
    const empty = join(tmp.dir, 'empty-bucket');
    const run = await runCli(['rebuild', '-w', ws, '--bucket', `file://${empty}`], { env, timeoutMs: 60_000 });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`holds no snapshot to rebuild ${dataDir} from; the folder was left as it is`);
    expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
    const notLocal = await runCli(['rebuild', '--database', 'postgres://u@127.0.0.1:1/db'], { env, timeoutMs: 60_000 });
    expect(notLocal.code).toBe(2);
    expect(notLocal.stderr).toMatch(/rebuild recreates an embedded database folder.*\nTry: aqe-upload reconcile/);
  });
});
