// The deploy rehearsal: the stack `cdktf deploy` would create, synthesized by the real app entry
// and then executed piece by piece on this machine. The database VM boots from its synthesized
// user-data in a sandbox (network and mount namespaces; systemd, docker and the disk tools are
// recording stand-ins, the container a real PostgreSQL started as the image contract says); the
// function archive is installed as Cloud Build installs it and its three targets run as Functions
// Framework processes with their synthesized environments, against the GCS JSON-API test server,
// the Secret Manager / metadata / Monitoring stand-ins and the rehearsal VM's database. What it
// cannot prove: anything only a real GCP project shows (IAM evaluation, Eventarc delivery, the
// image's own binaries and the ruvector engine): see README "Deploying to Google Cloud".
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Storage } from '@google-cloud/storage';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerExpectations, VM_METRICS, VM_PATHS, VM_UNITS } from '../../infra/constructs/database-cloud-config.js';
import { checkDockerRun, parseDockerRun, splitCommandLine } from '../../infra/container-contract.js';
import { CONFIG_ENV, LOCAL_ONLY_ENV, LOG_EVENTS } from '../../functions/entry-points.js';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import type { BlobStore } from '../../functions/storage/blob-store.js';
import { STANDIN_MODEL_DIR, STANDIN_MODEL_ID } from '../../uploader/local/local-sync.js';
import { pushWorkspace } from '../e2e/support/e2e-fixtures.js';
import { runCliProcess } from '../integration/uploader/cli-harness.js';
import { type GcsServer, startGcsServer } from '../support/gcs-server.js';
import { buildWorkspace, type BuiltWorkspace } from '../support/workspace-builder.js';
import { type DeployedFunction, type InstalledSource, installLikeCloudBuild, postCloudEvent, RUNTIME_SOURCE_DIR, startDeployedFunction } from './support/deployed-functions.js';
import { type GoogleApisStandin, startGoogleApisStandin } from './support/google-apis-standin.js';
import { type RehearsalStack, type Res, synthesizeRehearsalStack } from './support/rehearsal-stack.js';
import { createVmNetwork, type VmNetwork, VmSandbox } from './support/vm-sandbox.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

let network: VmNetwork;
let stack: RehearsalStack;
let apis: GoogleApisStandin;
let gcs: GcsServer;
let vm: VmSandbox;
let installed: InstalledSource;
let store: BlobStore;
let ws: BuiltWorkspace;
let scratch: string;
const fns: Record<string, DeployedFunction> = {};
const passwords: Record<'sync' | 'reader', string[]> = { sync: [], reader: [] };
let syncSecret: string;
let readerSecret: string;
let bucketName: string;
let registry: string;

/** Everything a function printed (for failure messages). */
const dump = (f: DeployedFunction | undefined) => (f ? [...f.logs().map((l) => JSON.stringify(l)), ...f.rawLines()].join('\n') : '(not started)');

/** The value of one of the VM's boot files. */
const bootFile = (path: string) => stack.cloudInit.files.find((f) => f.path === path)!.content;

function client(user: string, password: string): pg.Client {
  return new pg.Client({ host: network.vmIp, port: 5432, database: 'aqe', user, password, connectionTimeoutMillis: 5000 });
}

async function query<T extends pg.QueryResultRow>(user: string, password: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = client(user, password);
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** psql as the superuser inside the container (the only way in for it). */
function adminSql(sql: string): string {
  const r = vm.exec(['docker', 'exec', VM_PATHS.container, 'psql', '-X', '-At', '-U', 'aqe_admin', '-d', 'aqe', '-c', sql]);
  if (r.status !== 0) throw new Error(`admin psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** What Cloud Storage publishes for a finalized object on the bucket's notification topic. */
async function notificationFor(objectName: string): Promise<Res> {
  const storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'rehearsal' });
  const [meta] = await storage.bucket(bucketName).file(objectName).getMetadata();
  const [, notification] = stack.resources('google_storage_notification')[0]!;
  return {
    message: {
      data: Buffer.from(JSON.stringify({ kind: 'storage#object', ...meta })).toString('base64'),
      attributes: {
        notificationConfig: `projects/_/buckets/${bucketName}/notificationConfigs/1`,
        eventType: 'OBJECT_FINALIZE',
        payloadFormat: notification.payload_format,
        bucketId: bucketName,
        objectId: objectName,
        objectGeneration: String(meta.generation),
        eventTime: String(meta.timeCreated),
      },
      messageId: `${Date.now()}`,
      publishTime: new Date().toISOString(),
    },
    subscription: 'projects/my-aqe-project/subscriptions/eventarc-load',
  };
}

/** The objects the synthesized bucket notification publishes (its event types and name prefix). */
function notified(objectName: string): boolean {
  const [, n] = stack.resources('google_storage_notification')[0]!;
  return (n.event_types as string[]).includes('OBJECT_FINALIZE') && objectName.startsWith(String(n.object_name_prefix ?? ''));
}

function serviceEnv(entryPoint: string): Record<string, string> {
  const env = stack.fn(entryPoint).service_config.environment_variables as Record<string, string>;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, stack.resolve(v)]));
}

beforeAll(async () => {
  network = createVmNetwork();
  // the example deployment, with the embedding model bundled into the function source
  // (functions.modelDir: the offline stand-in here, the real all-MiniLM-L6-v2 folder in production)
  scratch = mkdtempSync(join(tmpdir(), 'aqe-rehearsal-ws-'));
  const example = JSON.parse(readFileSync(join(REPO, 'infra', 'deployments', 'example.json'), 'utf8')) as { functions: Record<string, unknown> };
  const configFile = join(scratch, 'example.json');
  writeFileSync(configFile, JSON.stringify({ ...example, functions: { ...example.functions, modelDir: STANDIN_MODEL_DIR } }));
  stack = synthesizeRehearsalStack({ configFile, computed: { 'google_compute_address.address': network.vmIp } });
  const secretIds = stack.resources('google_secret_manager_secret').map(([, s]) => `projects/${stack.project}/secrets/${s.secret_id}`);
  syncSecret = secretIds.find((s) => s.endsWith('/aqe-db-password'))!;
  readerSecret = secretIds.find((s) => s.endsWith('/aqe-db-reader-password'))!;
  apis = await startGoogleApisStandin({ project: stack.project, zone: stack.resources('google_compute_instance')[0]![1].zone, host: network.hostIp });
  // DEPLOY.md §5: the first versions are added out of band
  passwords.sync.push(await apis.addRandomVersion(syncSecret));
  passwords.reader.push(await apis.addRandomVersion(readerSecret));
  const [, mirror] = stack.resources('google_artifact_registry_repository').find(([, r]) => r.mode === 'REMOTE_REPOSITORY')!;
  registry = `${mirror.location}-docker.pkg.dev/${stack.project}/${mirror.repository_id}`;
  vm = new VmSandbox({ network, files: stack.cloudInit.files, runcmd: stack.cloudInit.runcmd, googleApis: apis.httpUrl, registry });
  gcs = await startGcsServer();
  const [, bucket] = stack.resources('google_storage_bucket').find(([, b]) => String(b.name).endsWith('-snapshots'))!;
  bucketName = String(bucket.name);
  gcs.createBucket(bucketName);
  store = await openBlobStore(`gs://${bucketName}`, { gcs: { apiEndpoint: gcs.endpoint, projectId: 'rehearsal' }, gcsRetry: { maxRetries: 0 } });
  ws = await buildWorkspace(join(scratch, 'ws'), { volume: 'small', seed: 13 });
}, 240_000);

afterAll(async () => {
  for (const f of Object.values(fns)) await f.stop().catch(() => undefined);
  await vm?.poweroff().catch(() => undefined);
  vm?.cleanup();
  await apis?.close();
  await gcs?.close();
  await ws?.close();
  network?.destroy();
  stack?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe.sequential('deploy rehearsal of the synthesized stack', () => {
  it('lints every script the VM runs (user-data files and runcmd) with shellcheck', () => {
    const scripts = stack.cloudInit.files.filter((f) => f.content.startsWith('#!/bin/bash'));
    expect(scripts.map((f) => f.path).sort()).toEqual(['/etc/aqe/fetch-db-secrets.sh', '/etc/aqe/init-db.sh', '/etc/aqe/mount-data-disk.sh', '/etc/aqe/pg-health.sh']);
    for (const f of [...scripts.map((s) => ({ path: s.path, content: s.content })), { path: 'runcmd', content: `#!/bin/bash\n${stack.cloudInit.runcmd.join('\n')}\n` }]) {
      const r = spawnSync('shellcheck', ['--shell=bash', '--severity=style', '-'], { input: f.content, encoding: 'utf8' });
      expect(r.error, 'shellcheck must be installed (apt-get install shellcheck; .ci/run does)').toBeUndefined();
      expect(`${f.path}: ${r.stdout}`).toBe(`${f.path}: `);
      expect(r.status).toBe(0);
    }
  });

  it('boots on a blank disk: formats it once, fetches the passwords to 0600 files on tmpfs, runs the container under the image contract, bootstraps the database', async () => {
    await vm.boot();
    await vm.waitForUnit(VM_UNITS.bootstrap, ['active'], 150_000);
    const calls = vm.calls();
    expect(calls.filter((c) => c.tool === 'blkid').map((c) => c.argv)).toEqual([['-p', '/dev/disk/by-id/google-ruvector-data']]);
    expect(calls.filter((c) => c.tool === 'mkfs.ext4').map((c) => c.argv.at(-1))).toEqual(['/dev/disk/by-id/google-ruvector-data']);
    expect(calls.filter((c) => c.tool === 'mount').map((c) => c.argv.slice(-2))).toEqual([['/dev/disk/by-id/google-ruvector-data', VM_PATHS.mount]]);
    // the password files: tmpfs, 0600, owned by the image's postgres (999), in a 0700 folder
    const fs = vm.exec(['findmnt', '-n', '-o', 'FSTYPE', '--target', VM_PATHS.runDir]);
    expect(fs.stdout.trim()).toBe('tmpfs');
    const st = vm.exec(['stat', '-c', '%n %a %u:%g', VM_PATHS.runDir, ...['admin-password', 'sync-password', 'reader-password'].map((f) => `${VM_PATHS.runDir}/${f}`)]);
    expect(st.stdout.trim().split('\n')).toEqual([
      `${VM_PATHS.runDir} 700 999:999`,
      `${VM_PATHS.runDir}/admin-password 600 999:999`,
      `${VM_PATHS.runDir}/sync-password 600 999:999`,
      `${VM_PATHS.runDir}/reader-password 600 999:999`,
    ]);
    expect(vm.exec(['cat', `${VM_PATHS.runDir}/sync-password`]).stdout).toBe(passwords.sync[0]);
    // the container: started once (no crash loop), pulled through the mirror after docker-credential-gcr
    expect(vm.units()[VM_UNITS.postgres]).toMatchObject({ state: 'active', restarts: 0 });
    const run = calls.find((c) => c.tool === 'docker' && c.argv[0] === 'run')!;
    expect(run.argv.at(-1)).toBe(`${registry}/ruvnet/ruvector-postgres:2.0.5`);
    expect(calls.findIndex((c) => c.tool === 'docker-credential-gcr')).toBeLessThan(calls.indexOf(run));
    // the line systemd ran satisfies the contract, for every baked-ENV variant
    const check = checkDockerRun(parseDockerRun(['docker', ...run.argv]), { superuser: 'aqe_admin', database: 'aqe', port: 5432, connectingRoles: ['aqe_sync', 'aqe_reader'] });
    expect(check.violations).toEqual([]);
    for (const env of check.effectiveEnv) expect(env).toMatchObject({ POSTGRES_PASSWORD: '', POSTGRES_USER: 'aqe_admin', POSTGRES_DB: 'aqe' });
    expect(vm.journalText(VM_UNITS.postgres)).toContain('PostgreSQL init process complete');
  }, 200_000);

  it('gives each role only what it needs: the functions own schema aqe, operators read, the superuser and the image demo login cannot log in', async () => {
    const roles = adminSql(`SELECT string_agg(rolname || ':' || rolsuper || ':' || rolcreaterole || ':' || rolcreatedb || ':' || rolcanlogin, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('aqe_admin', 'aqe_sync', 'aqe_reader', 'ruvector')`);
    expect(roles.split(',')).toEqual(['aqe_admin:true:true:true:true', 'aqe_reader:false:false:false:true', 'aqe_sync:false:false:false:true', 'ruvector:false:false:false:false']);
    expect(adminSql(`SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'aqe'`)).toBe('aqe_sync');
    // logins over the VM's network: the two roles with their secrets; nobody else
    expect(await query<{ u: string }>('aqe_sync', passwords.sync[0]!, 'SELECT current_user AS u')).toEqual([{ u: 'aqe_sync' }]);
    await expect(query('aqe_admin', vm.exec(['cat', `${VM_PATHS.runDir}/admin-password`]).stdout, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    await expect(query('ruvector', 'ruvector', 'SELECT 1')).rejects.toThrow(/not permitted to log in|password authentication failed/);
    // the reader cannot write, the functions' role cannot create roles or databases
    await expect(query('aqe_reader', passwords.reader[0]!, 'CREATE TABLE aqe.x (i int)')).rejects.toThrow(/read-only transaction|permission denied/);
    await expect(query('aqe_sync', passwords.sync[0]!, 'CREATE ROLE intruder')).rejects.toThrow(/permission denied/);
  });

  it('reports PostgreSQL health and the data disk use as custom metrics with the VM token', async () => {
    const deadline = Date.now() + 60_000;
    while (!apis.timeSeries.some((t) => t.metric === VM_METRICS.postgresUp && t.value === 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const up = apis.timeSeries.filter((t) => t.metric === VM_METRICS.postgresUp);
    expect(up.at(-1)).toMatchObject({ value: 1, labels: { project_id: stack.project, instance_id: expect.any(String), zone: expect.any(String) } });
    const disk = apis.timeSeries.filter((t) => t.metric === VM_METRICS.dataDiskUsedPercent).at(-1)!;
    expect(disk.value).toBeGreaterThan(0);
    expect(disk.value).toBeLessThanOrEqual(100);
    expect(apis.requests.filter((r) => r.api === 'monitoring').every((r) => r.status === 200)).toBe(true);
  });

  it('installs the archive as Cloud Build does (production npm ci, install scripts, the synthesized build env) and starts the three targets', async () => {
    const buildEnv = stack.fn('loadSnapshot').build_config.environment_variables as Record<string, string>;
    installed = installLikeCloudBuild(stack.archive, buildEnv);
    // onnxruntime-node's own install script, run as npm runs it: fine with the build env, a
    // download of CUDA binaries (that fails offline, and costs ~300 MB in Cloud Build) without it
    const ort = join(installed.dir, 'node_modules', 'onnxruntime-node');
    const withEnv = spawnSync('node', ['script/install.js'], { cwd: ort, env: { PATH: process.env.PATH, ...buildEnv }, encoding: 'utf8', timeout: 60_000 });
    expect(withEnv.status).toBe(0);
    const without = spawnSync('node', ['script/install.js'], { cwd: ort, env: { PATH: process.env.PATH }, encoding: 'utf8', timeout: 60_000 });
    expect(without.status).not.toBe(0);
    for (const [entry, type] of [['loadSnapshot', 'cloudevent'], ['reconcile', 'http'], ['rotateSecret', 'cloudevent']] as const) {
      const env = serviceEnv(entry);
      for (const v of LOCAL_ONLY_ENV) expect(env[v], `infra must never set ${v}`).toBeUndefined();
      fns[entry] = await startDeployedFunction({
        installed,
        name: stack.fn(entry).name,
        entryPoint: stack.fn(entry).build_config.entry_point,
        signatureType: type,
        // the only additions: where the stand-ins of Cloud Storage and Secret Manager listen
        environment: { ...env, [CONFIG_ENV.gcsApiEndpoint]: gcs.endpoint, [CONFIG_ENV.secretManagerEndpoint]: apis.grpcEndpoint },
      });
    }
    expect(Object.keys(fns)).toHaveLength(3);
  }, 600_000);

  it('loads a pushed snapshot from its manifest notification as the functions role; a blob event is a no-op', async () => {
    const pushed = await pushWorkspace(ws.root, 'laptop', store);
    const objects = [...gcs.objects(bucketName).keys()];
    const delivered = objects.filter(notified);
    expect(delivered).toEqual([pushed.manifestKey]);
    const [, trigger] = [null, stack.fn('loadSnapshot').event_trigger] as const;
    expect(trigger.event_type).toBe('google.cloud.pubsub.topic.v1.messagePublished');
    const topic = stack.resolve(String(trigger.pubsub_topic));
    const blob = objects.find((o) => o.startsWith('blobs/'))!;
    const r = await postCloudEvent(fns.loadSnapshot!.url, { id: 'e-blob', type: trigger.event_type, source: `//pubsub.googleapis.com/${topic}`, data: await notificationFor(blob) });
    expect(r.status).toBeLessThan(300);
    const res = await postCloudEvent(fns.loadSnapshot!.url, { id: 'e-1', type: trigger.event_type, source: `//pubsub.googleapis.com/${topic}`, data: await notificationFor(pushed.manifestKey!) });
    expect(res.status, dump(fns.loadSnapshot)).toBeLessThan(300);
    const runs = await query<{ status: string }>('aqe_reader', passwords.reader[0]!, `SELECT status FROM aqe.sync_runs WHERE manifest_key = $1`, [pushed.manifestKey]);
    expect(runs).toEqual([{ status: 'succeeded' }]);
    expect(Number((await query<{ n: string }>('aqe_reader', passwords.reader[0]!, `SELECT count(*) AS n FROM aqe.qe_patterns WHERE source_env = 'laptop'`))[0]!.n)).toBeGreaterThan(0);
    // the bundled model (AQE_MODEL_DIR under the runtime's source folder) embedded them in the load
    expect(serviceEnv('loadSnapshot')[CONFIG_ENV.modelDir]).toBe(`${RUNTIME_SOURCE_DIR}/model`);
    const embedded = await query<{ n: string }>('aqe_reader', passwords.reader[0]!, `SELECT count(*) AS n FROM aqe.qe_patterns WHERE embedding IS NOT NULL AND embedding_model = $1`, [STANDIN_MODEL_ID]);
    expect(Number(embedded[0]!.n), dump(fns.loadSnapshot)).toBeGreaterThan(0);
    // every table the loader made is owned by the functions' role and readable by the operators
    expect(adminSql(`SELECT count(*) FROM pg_tables WHERE schemaname = 'aqe' AND tableowner <> 'aqe_sync'`)).toBe('0');
    const logs = fns.loadSnapshot!.logs();
    expect(logs.find((l) => l.event === LOG_EVENTS.syncSucceeded)).toMatchObject({ severity: 'INFO', env: 'laptop' });
    expect(logs.find((l) => l.event === LOG_EVENTS.syncLag)).toMatchObject({ env: 'laptop', lagSeconds: expect.any(Number) });
    expect(fns.loadSnapshot!.rawLines().filter((l) => !/^Serving function|^Function:|^Signature type:|^URL:/.test(l))).toEqual([]);
  }, 180_000);

  it('lets an operator search and read status through the CLI as the read-only role (DEPLOY.md §7), and nothing more', async () => {
    const database = `postgres://aqe_reader:${encodeURIComponent(passwords.reader[0]!)}@${network.vmIp}:5432/aqe`;
    const env = { AQE_MODEL_DIR: STANDIN_MODEL_DIR };
    const before = adminSql(`SELECT string_agg(name, ',' ORDER BY name) FROM aqe.schema_migrations`);
    const search = await runCliProcess(['search', 'flaky test retries', '--database', database, '--json'], env);
    expect(search.code, search.stderr).toBe(0);
    const found = JSON.parse(search.stdout) as { hits: unknown[] };
    expect(found.hits.length).toBeGreaterThan(0);
    const status = await runCliProcess(['status', '--database', database, '--env', 'laptop', '--no-local', '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toContain('laptop');
    // the operator's role changed nothing: no migration recorded, no row written
    expect(adminSql(`SELECT string_agg(name, ',' ORDER BY name) FROM aqe.schema_migrations`)).toBe(before);
    expect(search.stderr + status.stderr).not.toContain(passwords.reader[0]!);
  }, 180_000);

  it('runs reconcile as Cloud Scheduler calls it (POST, OIDC bearer, the synthesized body) and reports environment health', async () => {
    const [, job] = stack.resources('google_cloud_scheduler_job')[0]!;
    const target = job.http_target;
    expect(target.uri).toBe(`\${${'google_cloudfunctions2_function'}.${stack.resources('google_cloudfunctions2_function').find(([, f]) => f.build_config.entry_point === 'reconcile')![0]}.service_config[0].uri}`);
    expect(target.oidc_token.service_account_email).toMatch(/^\$\{google_service_account\.scheduler_sa_/);
    const res = await fetch(fns.reconcile!.url, {
      method: target.http_method,
      headers: { ...target.headers, authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.rehearsal.oidc', 'user-agent': 'Google-Cloud-Scheduler' },
      body: Buffer.from(String(target.body), 'base64'),
    });
    const body = (await res.json()) as { errors: unknown[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.errors).toEqual([]);
    const health = fns.reconcile!.logs().find((l) => l.event === LOG_EVENTS.environmentHealth);
    expect(health).toMatchObject({ env: 'laptop', newestSnapshotAgeSeconds: expect.any(Number), failureRate: 0 });
  }, 180_000);

  it('rotates both roles from their rotation messages; the old passwords stop working and the next load succeeds', async () => {
    const [, trigger] = [null, stack.fn('rotateSecret').event_trigger] as const;
    for (const [secret, role] of [[syncSecret, 'aqe_sync'], [readerSecret, 'aqe_reader']] as const) {
      const published = secret.replace(`projects/${stack.project}/`, 'projects/123456789012/');
      const res = await postCloudEvent(fns.rotateSecret!.url, {
        id: `rot-${role}`,
        type: trigger.event_type,
        source: `//pubsub.googleapis.com/${stack.resolve(String(trigger.pubsub_topic))}`,
        data: {
          message: {
            attributes: { eventType: 'SECRET_ROTATE', secretId: published, timestamp: new Date().toISOString() },
            data: Buffer.from(JSON.stringify({ name: published })).toString('base64'),
            messageId: `rot-${role}`,
          },
        },
      });
      expect(res.status, dump(fns.rotateSecret)).toBeLessThan(300);
      const latest = await apis.secrets.accessLatest(secret);
      const fresh = latest.value.reveal();
      const old = role === 'aqe_sync' ? passwords.sync[0]! : passwords.reader[0]!;
      expect(fresh).not.toBe(old);
      (role === 'aqe_sync' ? passwords.sync : passwords.reader).push(fresh);
      expect(await query<{ u: string }>(role, fresh, 'SELECT current_user AS u')).toEqual([{ u: role }]);
      await expect(query(role, old, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    }
    // the loader still holds a pool opened with the old password: the next load re-reads the secret
    const pushed = await pushWorkspace(ws.root, 'laptop', store);
    const topic = stack.resolve(String(stack.fn('loadSnapshot').event_trigger.pubsub_topic));
    const res = await postCloudEvent(fns.loadSnapshot!.url, { id: 'e-2', type: 'google.cloud.pubsub.topic.v1.messagePublished', source: `//pubsub.googleapis.com/${topic}`, data: await notificationFor(pushed.manifestKey!) });
    expect(res.status, dump(fns.loadSnapshot)).toBeLessThan(300);
    const runs = await query<{ status: string }>('aqe_reader', passwords.reader[1]!, `SELECT status FROM aqe.sync_runs WHERE manifest_key = $1`, [pushed.manifestKey]);
    expect(runs).toEqual([{ status: 'succeeded' }]);
  }, 180_000);

  it('keeps every password out of logs, unit files, command lines, the user-data and the function logs', () => {
    const secrets = [...passwords.sync, ...passwords.reader, vm.exec(['cat', `${VM_PATHS.runDir}/admin-password`]).stdout].filter((s) => s.length > 0);
    expect(secrets.length).toBe(5);
    const haystacks: Record<string, string> = {
      'VM journal (units, container, PostgreSQL log)': vm.journalText(),
      'every command line run on the VM': JSON.stringify(vm.calls()),
      'cloud-init output': vm.cloudInitLog(),
      'user-data (metadata)': stack.userData,
      'synthesized stack (state)': JSON.stringify(stack.tf),
      ...Object.fromEntries(Object.entries(fns).map(([k, f]) => [`${k} logs`, JSON.stringify(f.logs()) + f.rawLines().join('\n')])),
      'unit files on the VM': vm.exec(['sh', '-c', 'cat /etc/systemd/system/aqe-*']).stdout,
    };
    for (const [where, text] of Object.entries(haystacks)) {
      expect(text.length, where).toBeGreaterThan(0);
      for (const s of secrets) expect(text.includes(s), `a password appears in: ${where}`).toBe(false);
    }
  });

  it('reboots on the populated disk: no format, the same data, the roles keep their rotated passwords', async () => {
    await vm.poweroff();
    await vm.boot();
    await vm.waitForUnit(VM_UNITS.bootstrap, ['active'], 150_000);
    const calls = vm.calls();
    expect(calls.filter((c) => c.tool === 'mkfs.ext4')).toHaveLength(1); // the first boot's only
    expect(calls.filter((c) => c.tool === 'blkid')).toHaveLength(2);
    expect(vm.journalText(VM_UNITS.postgres)).toContain('Skipping initialization');
    const runs = await query<{ n: string }>('aqe_sync', passwords.sync.at(-1)!, `SELECT count(*) AS n FROM aqe.sync_runs WHERE status = 'succeeded'`);
    expect(Number(runs[0]!.n)).toBe(2);
    await expect(query('aqe_sync', passwords.sync[0]!, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
  }, 200_000);
});

describe('the contract the rehearsal enforces, broken on purpose', () => {
  it('a run line without POSTGRES_PASSWORD= (the image bakes one) breaks the entrypoint at every start', () => {
    const unit = bootFile(`/etc/systemd/system/${VM_UNITS.postgres}`);
    const execStart = /^ExecStart=([\s\S]*?)\nExecStop=/m.exec(unit)![1]!;
    const argv = splitCommandLine(execStart);
    const expectations = containerExpectations({ adminUser: 'aqe_admin', dbName: 'aqe', port: '5432', syncUser: 'aqe_sync', readerUser: 'aqe_reader' } as never);
    expect(checkDockerRun(parseDockerRun(argv), expectations).violations).toEqual([]);
    const broken = argv.filter((w, i) => !(w === 'POSTGRES_PASSWORD=' || (w === '-e' && argv[i + 1] === 'POSTGRES_PASSWORD=')));
    expect(checkDockerRun(parseDockerRun(broken), expectations).violations.join('\n')).toMatch(/POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are both set/);
    const asSuperuser = checkDockerRun(parseDockerRun(argv), { ...expectations, connectingRoles: ['aqe_admin'] });
    expect(asSuperuser.violations.join('\n')).toMatch(/connects over TCP but is the superuser/);
  });
});
