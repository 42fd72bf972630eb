// --iap through a stand-in `gcloud` (gcloud-standin.mjs, first on PATH behind a shell wrapper, like
// the real one) that forwards its local port to the native test PostgreSQL. A dedicated login
// role with a password (scram) proves the password from the secret source reaches the server.
// After every command, success or failure, no tunnel process (wrapper or forwarder) is left.
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { advisoryLockKey, LOCK_NAMES } from '../../../functions/db/advisory-lock.js';
import { Redacted } from '../../../functions/secrets/redacted.js';
import { InMemorySecretSource } from '../../../functions/secrets/secret-source.js';
import { AppError } from '../../../schema/errors.js';
import type { CliIo } from '../../../uploader/cli-io.js';
import { type CliCommand, runCommand } from '../../../uploader/commands/command.js';
import { withIapTunnelOption } from '../../../uploader/commands/iap-option.js';
import { loadCliConfig } from '../../../uploader/config/cli-config.js';
import { statusCommand } from '../../../uploader/commands/status.js';
import { STANDIN_MODEL_DIR } from '../../../uploader/local/local-sync.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { runCliInProcess, tempFolder } from '../uploader/cli-harness.js';

const STANDIN = fileURLToPath(new URL('./gcloud-standin.mjs', import.meta.url));
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SECRET = 'projects/test-proj/secrets/aqe-db-password';

interface Recorded {
  pid: number;
  ppid: number;
  args: string[];
}

/** True while `pid` runs (a zombie waiting for a reaper counts as gone). */
async function alive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return !/^\d+ \(.*\) Z/.test(stat);
}

/** Waits (up to 3 s) for every process to be gone; returns those still alive. */
async function survivors(pids: readonly number[]): Promise<number[]> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const left: number[] = [];
    for (const pid of pids) if (await alive(pid)) left.push(pid);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('--iap <instance>', () => {
  let tmp: string;
  let remove: () => Promise<void>;
  let tdb: TestDatabase;
  let bin: string;
  let role: string;
  let password: string;
  let target: string;
  let ws: string;
  let run = 0;

  /** A fresh record file and the environment for the stand-in. */
  const standinEnv = (mode: string, extra: Record<string, string> = {}) => {
    const record = join(tmp, `record-${++run}.jsonl`);
    return { record, env: { PATH: `${bin}:${process.env['PATH'] ?? ''}`, GCLOUD_STANDIN_MODE: mode, GCLOUD_STANDIN_TARGET: target, GCLOUD_STANDIN_RECORD: record, ...extra } };
  };
  const recorded = async (record: string): Promise<Recorded[]> =>
    (await readFile(record, 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Recorded);
  /** Every tunnel process of a run: the shell wrapper gcloud started as, and the forwarder under it. */
  const tunnelPids = async (record: string) => (await recorded(record)).flatMap((r) => [r.ppid, r.pid]);

  const iapFlags = (over: Record<string, unknown> = {}) => ({
    iap: 'aqe-db',
    iapZone: 'europe-west1-b',
    iapProject: 'test-proj',
    dbUser: role,
    dbName: tdb.name,
    dbPasswordSecret: SECRET,
    iapTimeout: '10s',
    ...over,
  });
  const io = (env: Record<string, string>): CliIo & { out: () => string; err: () => string } => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    stderr.on('data', (c: Buffer) => (err += c.toString()));
    return { stdout, stderr, env, cwd: tmp, out: () => out, err: () => err };
  };
  /** What run-cli.ts does for a command: flags through its schema, the configuration from the io's environment. */
  const runIn = (command: CliCommand, opts: Record<string, unknown>, cli: CliIo) => runCommand(command, opts, loadCliConfig(cli.env, cli.cwd, command.name), cli);
  const secretsWith = (value: string) => {
    const secrets = new InMemorySecretSource();
    void secrets.addVersion(SECRET, new Redacted(value));
    return async () => secrets;
  };

  beforeAll(async () => {
    const t = await tempFolder('aqe-iap-');
    tmp = t.dir;
    remove = t.remove;
    // gcloud is a shell script around Python: the wrapper here keeps that shape (two processes)
    bin = join(tmp, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'gcloud'), `#!/bin/sh\n"${process.execPath}" "${STANDIN}" "$@"\n`);
    await chmod(join(bin, 'gcloud'), 0o755);

    tdb = await createTestDatabase('iap');
    const url = new URL(tdb.url);
    target = `${url.hostname}:${url.port}`;
    role = `aqe_iap_${randomBytes(4).toString('hex')}`;
    password = `pw-${randomBytes(9).toString('base64url')}`;
    // data to find: a workspace pushed and loaded as the admin, then a login role that may read it
    ws = join(tmp, 'ws');
    await buildWorkspace(ws, { volume: 'small', seed: 5 });
    const push = await runCliInProcess(['push', '--workspace', ws, '--env', 'laptop', '--database', tdb.url], { AQE_MODEL_DIR: STANDIN_MODEL_DIR });
    expect(push.code, push.stderr).toBe(0);
    const admin = new pg.Client({ connectionString: tdb.url });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
      await admin.query(`ALTER DATABASE "${tdb.name}" OWNER TO ${role}`);
      await admin.query(`GRANT ALL ON SCHEMA aqe TO ${role}`);
      await admin.query(`GRANT ALL ON ALL TABLES IN SCHEMA aqe TO ${role}`);
      await admin.query(`GRANT ALL ON ALL SEQUENCES IN SCHEMA aqe TO ${role}`);
    } finally {
      await admin.end();
    }
  });
  afterAll(async () => {
    await tdb?.drop();
    if (role) {
      const admin = new pg.Client({ connectionString: inject('postgresAdminUrl') });
      await admin.connect();
      await admin.query(`DROP ROLE IF EXISTS ${role}`).finally(() => admin.end());
    }
    await remove?.();
  });

  it('runs status through a tunnel with the password from the secret, with the gcloud arguments users type, then closes the tunnel', async () => {
    const { record, env } = standinEnv('forward');
    const status = withIapTunnelOption(statusCommand, { secretSource: secretsWith(password) });
    const cli = io(env);
    await expect(runIn(status, { ...iapFlags(), json: true, local: false }, cli)).resolves.toBe('ok');
    const report = JSON.parse(cli.out()) as { description: string; environments: Array<{ env: string }> };
    expect(report.environments.map((e) => e.env)).toContain('laptop');
    expect(report.description).not.toContain(password);

    const [gcloud] = await recorded(record);
    expect(gcloud!.args).toEqual(['compute', 'start-iap-tunnel', 'aqe-db', '5432', expect.stringMatching(/^--local-host-port=localhost:\d+$/), '--zone', 'europe-west1-b', '--project', 'test-proj']);
    expect(await survivors(await tunnelPids(record))).toEqual([]);
  });

  it('closes the tunnel when the command fails (wrong password in the secret)', async () => {
    const { record, env } = standinEnv('forward');
    const status = withIapTunnelOption(statusCommand, { secretSource: secretsWith('not-the-password') });
    const err = await runIn(status, { ...iapFlags(), json: true, local: false }, io(env)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('DB_AUTH');
    const pids = await tunnelPids(record);
    expect(pids).toHaveLength(2);
    expect(await survivors(pids)).toEqual([]);
  });

  it('search through the real CLI: flags parsed by commander, PGPASSWORD as the password, exit 0 and no tunnel left', async () => {
    const { record, env } = standinEnv('forward', { PGPASSWORD: password, AQE_MODEL_DIR: STANDIN_MODEL_DIR, AQE_DB_USER: role, AQE_IAP_ZONE: 'europe-west1-b' });
    const r = await runCliProcess(['search', 'retry flaky tests', '--iap', 'aqe-db', '--iap-project', 'test-proj', '--db-name', tdb.name, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout) as { hits: unknown[] };
    expect(result.hits.length).toBeGreaterThan(0);
    const [gcloud] = await recorded(record);
    expect(gcloud!.args).toEqual(expect.arrayContaining(['--zone', 'europe-west1-b', '--project', 'test-proj']));
    expect(await survivors(await tunnelPids(record))).toEqual([]);
  });

  it('Ctrl-C while the command runs closes the tunnel and exits 130', async () => {
    // the test holds the migration lock: the command waits inside its first transaction, tunnel up
    const blocker = new pg.Client({ connectionString: tdb.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryLockKey(LOCK_NAMES.migrate)]);
    try {
      const { record, env } = standinEnv('forward', { PGPASSWORD: password });
      const child = spawnCli(['status', '--iap', 'aqe-db', '--iap-project', 'test-proj', '--db-user', role, '--db-name', tdb.name, '--no-local'], env);
      // wait until the command's connection waits on the lock
      const admin = new pg.Client({ connectionString: tdb.url });
      await admin.connect();
      try {
        for (let i = 0; i < 200; i++) {
          const waiting = await admin.query(`SELECT 1 FROM pg_stat_activity WHERE usename = $1 AND wait_event_type = 'Lock'`, [role]);
          if (waiting.rowCount) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await admin.end();
      }
      const pids = await tunnelPids(record);
      expect(pids).toHaveLength(2);
      child.process.kill('SIGINT');
      const exit = await child.exit;
      expect(exit, child.stderr()).toEqual({ code: 130, signal: null });
      expect(child.stderr()).toContain('SIGINT: closing the IAP tunnel');
      expect(await survivors(pids)).toEqual([]);
    } finally {
      await blocker.query('COMMIT');
      await blocker.end();
    }
  });

  it('watch --iap: pushes and loads through the tunnel; SIGTERM stops the watch cleanly (exit 0), then the tunnel closes', async () => {
    const { record, env } = standinEnv('forward', { PGPASSWORD: password, AQE_EMBED_BUDGET_SECONDS: '0' });
    const child = spawnCli(['watch', '-w', ws, '--env', 'iap-watch', '--json', '--iap', 'aqe-db', '--iap-project', 'test-proj', '--db-user', role, '--db-name', tdb.name], env);
    for (let i = 0; i < 300 && !child.stdout().includes('\n'); i++) await new Promise((r) => setTimeout(r, 50));
    const line = JSON.parse(child.stdout().split('\n')[0]!) as { reason: string; ok: boolean; load: { status: string } | null };
    expect(line, child.stderr()).toMatchObject({ reason: 'start', ok: true, load: { status: 'loaded' } });
    const pids = await tunnelPids(record);
    expect(pids).toHaveLength(2);
    child.process.kill('SIGTERM');
    expect(await child.exit, child.stderr()).toEqual({ code: 0, signal: null });
    expect(child.stderr()).toContain('aqe-upload watch: stopped');
    expect(await survivors(pids)).toEqual([]);
  });

  it('fails with gcloud\'s last lines when the tunnel does not come up in time, and leaves no process', async () => {
    const { record, env } = standinEnv('silent');
    const status = withIapTunnelOption(statusCommand, { secretSource: secretsWith(password) });
    const started = Date.now();
    const err = (await runIn(status, { ...iapFlags({ iapTimeout: '1500ms' }), local: false }, io(env)).catch((e: unknown) => e)) as AppError;
    expect(Date.now() - started).toBeLessThan(6000);
    expect(err.code).toBe('DB_CONNECTION');
    expect(err.message).toContain('did not come up in 1.5s');
    expect(err.message).toContain('| Testing if tunnel connection works.');
    expect(err.message).toContain('--iap-timeout');
    expect(await survivors(await tunnelPids(record))).toEqual([]);
  });

  it('refuses a tunnel whose port answers with something that is not PostgreSQL (an SSH banner starts with "S" too)', async () => {
    const { record, env } = standinEnv('garbage');
    const status = withIapTunnelOption(statusCommand, { secretSource: secretsWith(password) });
    const err = (await runIn(status, { ...iapFlags(), local: false }, io(env)).catch((e: unknown) => e)) as AppError;
    expect(err.code).toBe('DB_CONNECTION');
    expect(err.message).toMatch(/answered, but not like PostgreSQL: it sent "SSH-2\.0-OpenSSH_9\.6\\r\\n"/);
    expect(await survivors(await tunnelPids(record))).toEqual([]);
  });

  it('reports gcloud\'s own error when it exits before the tunnel is up', async () => {
    const { record, env } = standinEnv('fail');
    const status = withIapTunnelOption(statusCommand, { secretSource: secretsWith(password) });
    const err = (await runIn(status, { ...iapFlags(), local: false }, io(env)).catch((e: unknown) => e)) as AppError;
    expect(err.message).toContain('the IAP tunnel ended before it was up (gcloud exited with code 1)');
    expect(err.message).toContain("| ERROR: (gcloud.compute.start-iap-tunnel) Error while connecting [4033: 'not authorized'].");
    expect(await survivors(await tunnelPids(record))).toEqual([]);
  });

  it('says how to install gcloud when it is not on PATH', async () => {
    const status = withIapTunnelOption(statusCommand, { secretSource: secretsWith(password) });
    const err = (await runIn(status, { ...iapFlags(), local: false }, io({ PATH: join(tmp, 'empty') })).catch((e: unknown) => e)) as AppError;
    expect(err.code).toBe('DB_CONNECTION');
    expect(err.message).toContain('"gcloud" was not found on PATH');
    expect(err.message).toContain('https://cloud.google.com/sdk/docs/install');
  });

  it('reports every bad --iap setting at once, as a usage error, before starting anything', async () => {
    const r = await runCliInProcess(['status', '--iap', 'Bad_Name', '--database', 'postgres://x@localhost/x', '--db-password-secret', 'aqe-db-password', '--iap-timeout', 'soon']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--iap "Bad_Name": expected a Compute Engine instance name');
    expect(r.stderr).toContain('--iap and --database both given');
    expect(r.stderr).toContain('--db-password-secret "aqe-db-password": expected projects/<project>/secrets/<secret>');
    expect(r.stderr).toContain('--iap-timeout "soon"');
    expect(r.stderr).toContain('Try: aqe-upload status --iap aqe-db');
  });
});

function spawnCli(args: readonly string[], env: Record<string, string>) {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AQE_') && k !== 'PGPASSWORD') base[k] = v;
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'uploader', 'cli.ts'), ...args], { cwd: REPO, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { process: child, exit, stdout: () => stdout, stderr: () => stderr };
}

async function runCliProcess(args: readonly string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AQE_') && k !== 'PGPASSWORD') base[k] = v;
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO, 'uploader', 'cli.ts'), ...args], { cwd: REPO, env: { ...base, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
