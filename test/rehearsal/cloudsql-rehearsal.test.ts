// The deploy rehearsal of the managed engine (database.engine "cloudsql-pgvector"): the stack
// synthesized by the real app entry from infra/deployments/example-cloudsql.json, then executed.
// The instance is real PostgreSQL at its "private IP" in its own network namespace, TLS only, with
// the roles and database the Cloud SQL API makes (support/cloudsql-standin.ts); the function
// archive is installed as Cloud Build installs it (shared with deploy-rehearsal.test.ts: the same
// files install once) and its four targets run as Functions Framework processes with their
// synthesized environments, against the Secret Manager stand-in and the GCS JSON-API test server.
// The runbook's out-of-band steps (first secret versions, the admin password set through the API)
// run as DEPLOY.md says; the bootstrap, the grants, a load and the rotation of all three roles run
// for real. Not here: the `vector` extension (no native pgvector build on this machine: the server
// offers none, the bootstrap reports it and the loader uses dialect none; the pgvector dialect runs
// against PGlite in test/integration/db), IAM, private services access, HA, backups and PITR.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Storage } from '@google-cloud/storage';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_ENV, ENTRY_POINTS, LOCAL_ONLY_ENV, MANAGED_DB_ENTRY_POINTS } from '../../functions/entry-points.js';
import type { BlobStore } from '../../functions/storage/blob-store.js';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { STANDIN_MODEL_DIR } from '../../uploader/local/local-sync.js';
import { pushWorkspace } from '../e2e/support/e2e-fixtures.js';
import { type GcsServer, startGcsServer } from '../support/gcs-server.js';
import { buildWorkspace, type BuiltWorkspace } from '../support/workspace-builder.js';
import { type CloudSqlStandin, startCloudSqlStandin } from './support/cloudsql-standin.js';
import { type DeployedFunction, type InstalledSource, installLikeCloudBuild, postCloudEvent, startDeployedFunction } from './support/deployed-functions.js';
import { type GoogleApisStandin, startGoogleApisStandin } from './support/google-apis-standin.js';
import { type RehearsalStack, type Res, synthesizeRehearsalStack } from './support/rehearsal-stack.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const ROLES = ['aqe_sync', 'aqe_reader', 'aqe_admin'] as const;
type Role = (typeof ROLES)[number];

let sql: CloudSqlStandin;
let stack: RehearsalStack;
let apis: GoogleApisStandin;
let gcs: GcsServer;
let installed: InstalledSource;
let store: BlobStore;
let ws: BuiltWorkspace;
let scratch: string;
let bucketName: string;
const fns: Record<string, DeployedFunction> = {};
const secretOf: Record<Role, string> = { aqe_sync: '', aqe_reader: '', aqe_admin: '' };
const passwords: Record<Role, string[]> = { aqe_sync: [], aqe_reader: [], aqe_admin: [] };
const timings: Record<string, number> = {};

const dump = (f: DeployedFunction | undefined) => (f ? [...f.logs().map((l) => JSON.stringify(l)), ...f.rawLines()].join('\n') : '(not started)');
const latest = (role: Role) => passwords[role].at(-1)!;

/** A session as `user` over TLS, the chain verified against `ca` (the instance CA by default). */
async function query<T extends pg.QueryResultRow>(user: string, password: string, text: string, params: unknown[] = [], ca = sql.caPem): Promise<T[]> {
  const c = new pg.Client({ host: sql.privateIp, port: 5432, database: 'aqe', user, password, connectionTimeoutMillis: 5000, ssl: { ca, checkServerIdentity: () => undefined } });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

function serviceEnv(entryPoint: string): Record<string, string> {
  const env = stack.fn(entryPoint).service_config.environment_variables as Record<string, string>;
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, stack.resolve(v)]));
}

/** Cloud Scheduler's call of the bootstrap job: POST, OIDC bearer, the synthesized body. */
async function runBootstrapJob(): Promise<{ status: number; body: Res }> {
  const [, job] = stack.resources('google_cloud_scheduler_job').find(([, j]) => String(j.name).endsWith('-db-bootstrap-daily'))!;
  const target = job.http_target;
  const res = await fetch(fns.bootstrapDatabase!.url, {
    method: target.http_method,
    headers: { ...target.headers, authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.rehearsal.oidc', 'user-agent': 'Google-Cloud-Scheduler' },
    body: Buffer.from(String(target.body), 'base64'),
  });
  return { status: res.status, body: (await res.json()) as Res };
}

async function notificationFor(objectName: string): Promise<Res> {
  const storage = new Storage({ apiEndpoint: gcs.endpoint, projectId: 'rehearsal' });
  const [meta] = await storage.bucket(bucketName).file(objectName).getMetadata();
  return {
    message: {
      data: Buffer.from(JSON.stringify({ kind: 'storage#object', ...meta })).toString('base64'),
      attributes: { eventType: 'OBJECT_FINALIZE', payloadFormat: 'JSON_API_V1', bucketId: bucketName, objectId: objectName, objectGeneration: String(meta.generation), eventTime: String(meta.timeCreated) },
      messageId: `${Date.now()}`,
      publishTime: new Date().toISOString(),
    },
    subscription: 'projects/my-aqe-managed/subscriptions/eventarc-load',
  };
}

async function load(id: string): Promise<string> {
  const pushed = await pushWorkspace(ws.root, 'laptop', store);
  const trigger = stack.fn(ENTRY_POINTS.loadSnapshot).event_trigger;
  const res = await postCloudEvent(fns.loadSnapshot!.url, { id, type: trigger.event_type, source: `//pubsub.googleapis.com/${stack.resolve(String(trigger.pubsub_topic))}`, data: await notificationFor(pushed.manifestKey!) });
  expect(res.status, dump(fns.loadSnapshot)).toBeLessThan(300);
  return pushed.manifestKey!;
}

beforeAll(async () => {
  const started = Date.now();
  sql = await startCloudSqlStandin({ instanceName: 'my-aqe-managed:aqe-pg', database: 'aqe', adminUser: 'aqe_admin' });
  // the managed example, with the model bundled as in deploy-rehearsal.test.ts (one install for both)
  scratch = mkdtempSync(join(tmpdir(), 'aqe-cloudsql-rehearsal-'));
  const example = JSON.parse(readFileSync(join(REPO, 'infra', 'deployments', 'example-cloudsql.json'), 'utf8')) as { functions: Record<string, unknown> };
  const configFile = join(scratch, 'example-cloudsql.json');
  writeFileSync(configFile, JSON.stringify({ ...example, functions: { ...example.functions, modelDir: STANDIN_MODEL_DIR } }));
  // what `terraform apply` gives the instance's computed attributes: its private IP and server CA
  stack = synthesizeRehearsalStack({
    configFile,
    computed: { 'google_sql_database_instance.private_ip_address': sql.privateIp, 'google_sql_database_instance.server_ca_cert[0].cert': sql.caPem },
  });
  timings.synth = (Date.now() - started) / 1000;
  for (const [, s] of stack.resources('google_secret_manager_secret')) {
    const name = `projects/${stack.project}/secrets/${s.secret_id}`;
    if (s.secret_id === 'aqe-db-password') secretOf.aqe_sync = name;
    if (s.secret_id === 'aqe-db-reader-password') secretOf.aqe_reader = name;
    if (s.secret_id === 'aqe-db-admin-password') secretOf.aqe_admin = name;
  }
  apis = await startGoogleApisStandin({ project: stack.project, zone: 'europe-west1-b', host: '127.0.0.1' });
  gcs = await startGcsServer();
  const [, bucket] = stack.resources('google_storage_bucket').find(([, b]) => String(b.name).endsWith('-snapshots'))!;
  bucketName = String(bucket.name);
  gcs.createBucket(bucketName);
  store = await openBlobStore(`gs://${bucketName}`, { gcs: { apiEndpoint: gcs.endpoint, projectId: 'rehearsal' }, gcsRetry: { maxRetries: 0 } });
  ws = await buildWorkspace(join(scratch, 'ws'), { volume: 'small', seed: 17 });
}, 300_000);

afterAll(async () => {
  for (const f of Object.values(fns)) await f.stop().catch(() => undefined);
  await apis?.close();
  await gcs?.close();
  await ws?.close();
  await sql?.stop();
  stack?.cleanup();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  // printed for the report: how long this file's own steps take (the install is shared)
  console.log(`cloudsql rehearsal timings (s): ${JSON.stringify(timings)}`);
});

describe.sequential('deploy rehearsal of the managed engine (Cloud SQL)', () => {
  it('installs the same archive as Cloud Build does and starts the four targets with their synthesized environments', async () => {
    const started = Date.now();
    installed = installLikeCloudBuild(stack.archive, stack.fn(ENTRY_POINTS.loadSnapshot).build_config.environment_variables as Record<string, string>);
    timings.install = (Date.now() - started) / 1000;
    const targets = [
      [ENTRY_POINTS.loadSnapshot, 'cloudevent'],
      [ENTRY_POINTS.reconcile, 'http'],
      [ENTRY_POINTS.rotateSecret, 'cloudevent'],
      [MANAGED_DB_ENTRY_POINTS.bootstrapDatabase, 'http'],
    ] as const;
    for (const [entry, type] of targets) {
      const env = serviceEnv(entry);
      for (const v of LOCAL_ONLY_ENV) expect(env[v], `infra must never set ${v}`).toBeUndefined();
      expect(env[CONFIG_ENV.dbHost]).toBe(sql.privateIp);
      expect(env[CONFIG_ENV.dbSslCa]).toBe(sql.caPem);
      fns[entry] = await startDeployedFunction({
        installed,
        name: stack.fn(entry).name,
        entryPoint: entry,
        signatureType: type,
        environment: { ...env, [CONFIG_ENV.gcsApiEndpoint]: gcs.endpoint, [CONFIG_ENV.secretManagerEndpoint]: apis.grpcEndpoint },
      });
    }
  }, 900_000);

  it('refuses what ENCRYPTED_ONLY refuses: a session without TLS, and a server whose certificate is not from the instance CA', async () => {
    sql.controlPlaneSql(`ALTER ROLE aqe_admin PASSWORD 'not-yet-the-secret'`);
    const plain = new pg.Client({ host: sql.privateIp, port: 5432, database: 'aqe', user: 'aqe_admin', password: 'not-yet-the-secret', connectionTimeoutMillis: 5000 });
    await expect(plain.connect()).rejects.toThrow(/no encryption/);
    await expect(query('aqe_admin', 'not-yet-the-secret', 'SELECT 1', [], sql.otherCaPem)).rejects.toThrow(/unable to verify|self[- ]signed/);
    expect(await query('aqe_admin', 'not-yet-the-secret', 'SELECT current_user AS u')).toEqual([{ u: 'aqe_admin' }]);
  });

  it('bootstraps as the API-created admin (DEPLOY.md: first versions, set-password, then the bootstrap job): roles, schema and grants, and nothing more', async () => {
    // DEPLOY.md "Managed database": the first versions out of band, the admin's set through the API
    for (const role of ROLES) passwords[role].push(await apis.addRandomVersion(secretOf[role]));
    sql.controlPlaneSql(`ALTER ROLE aqe_admin PASSWORD '${latest('aqe_admin')}'`);
    const started = Date.now();
    const first = await runBootstrapJob();
    timings.bootstrap = (Date.now() - started) / 1000;
    expect(first.status, `${JSON.stringify(first.body)}\n${dump(fns.bootstrapDatabase)}`).toBe(200);
    expect(first.body).toMatchObject({ createdRoles: ['aqe_sync', 'aqe_reader'], resetPasswords: [], vector: 'unavailable', serverVersion: expect.any(Number) });
    // the admin is a cloudsqlsuperuser member, not a superuser; the roles have no privileged attribute
    const roles = sql.controlPlaneSql(`SELECT string_agg(rolname || ':' || rolsuper || ':' || rolcreaterole || ':' || rolcreatedb || ':' || rolcanlogin, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('aqe_admin', 'aqe_sync', 'aqe_reader')`);
    expect(roles.split(',')).toEqual(['aqe_admin:false:true:true:true', 'aqe_reader:false:false:false:true', 'aqe_sync:false:false:false:true']);
    expect(sql.controlPlaneSql(`SELECT nspowner::regrole FROM pg_namespace WHERE nspname = 'aqe'`, 'aqe')).toBe('aqe_sync');
    // the admin's SET membership in aqe_sync lasted the bootstrap only
    expect(sql.controlPlaneSql(`SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = 'aqe_sync' AND u.rolname = 'aqe_admin' AND m.set_option`)).toBe('0');
    expect(await query('aqe_sync', latest('aqe_sync'), 'SELECT current_user AS u')).toEqual([{ u: 'aqe_sync' }]);
    await expect(query('aqe_reader', latest('aqe_reader'), 'CREATE TABLE aqe.x (i int)')).rejects.toThrow(/read-only transaction|permission denied/);
    await expect(query('aqe_sync', latest('aqe_sync'), 'CREATE ROLE intruder')).rejects.toThrow(/permission denied/);
    // the passwords reached the server as SCRAM verifiers only (never in the server log)
    expect(sql.controlPlaneSql(`SELECT string_agg(left(rolpassword, 14), ',' ORDER BY rolname) FROM pg_authid WHERE rolname IN ('aqe_sync', 'aqe_reader')`)).toBe('SCRAM-SHA-256$,SCRAM-SHA-256$');
    // idempotent: the daily run changes nothing and creates nothing
    const again = await runBootstrapJob();
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ createdRoles: [], resetPasswords: [] });
    expect(fns.bootstrapDatabase!.logs().find((l) => l.event === 'bootstrap_no_vector')).toMatchObject({ severity: 'WARNING' });
  }, 120_000);

  it('loads a pushed snapshot over TLS as the functions role; operators read it through the read-only role', async () => {
    const manifestKey = await load('e-1');
    expect(await query('aqe_reader', latest('aqe_reader'), `SELECT status FROM aqe.sync_runs WHERE manifest_key = $1`, [manifestKey])).toEqual([{ status: 'succeeded' }]);
    const n = await query<{ n: string }>('aqe_reader', latest('aqe_reader'), `SELECT count(*) AS n FROM aqe.qe_patterns WHERE source_env = 'laptop'`);
    expect(Number(n[0]!.n)).toBeGreaterThan(0);
    expect(sql.controlPlaneSql(`SELECT count(*) FROM pg_tables WHERE schemaname = 'aqe' AND tableowner <> 'aqe_sync'`, 'aqe')).toBe('0');
    // every session of the functions was encrypted
    const sessions = sql.serverLog().split('\n').filter((l) => /connection authorized: user=aqe_sync\b/.test(l));
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions.filter((l) => !/SSL enabled/.test(l))).toEqual([]);
    const reconcile = await fetch(fns.reconcile!.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(reconcile.status, dump(fns.reconcile)).toBe(200);
  }, 180_000);

  it('rotates all three roles from their rotation messages on Cloud SQL (each ALTERs its own password); old passwords stop working; bootstrap and loads go on', async () => {
    const trigger = stack.fn(ENTRY_POINTS.rotateSecret).event_trigger;
    for (const role of ROLES) {
      const published = secretOf[role].replace(`projects/${stack.project}/`, 'projects/123456789012/');
      const res = await postCloudEvent(fns.rotateSecret!.url, {
        id: `rot-${role}`,
        type: trigger.event_type,
        source: `//pubsub.googleapis.com/${stack.resolve(String(trigger.pubsub_topic))}`,
        data: { message: { attributes: { eventType: 'SECRET_ROTATE', secretId: published, timestamp: new Date().toISOString() }, data: Buffer.from(JSON.stringify({ name: published })).toString('base64'), messageId: `rot-${role}` } },
      });
      expect(res.status, dump(fns.rotateSecret)).toBeLessThan(300);
      const fresh = (await apis.secrets.accessLatest(secretOf[role])).value.reveal();
      expect(fresh).not.toBe(latest(role));
      const old = latest(role);
      passwords[role].push(fresh);
      expect(await query<{ u: string }>(role, fresh, 'SELECT current_user AS u')).toEqual([{ u: role }]);
      await expect(query(role, old, 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    }
    const boot = await runBootstrapJob();
    expect(boot.status, JSON.stringify(boot.body)).toBe(200);
    const manifestKey = await load('e-2');
    expect(await query('aqe_reader', latest('aqe_reader'), `SELECT status FROM aqe.sync_runs WHERE manifest_key = $1`, [manifestKey])).toEqual([{ status: 'succeeded' }]);
  }, 180_000);

  it('after a restore brings roles back with old passwords, the admin password set through the API and one bootstrap run make every role log in again (DEPLOY.md restore runbook)', async () => {
    // a backup or point-in-time clone from before the rotations: the roles' passwords of that time
    for (const role of ROLES) sql.controlPlaneSql(`ALTER ROLE ${role} PASSWORD '${passwords[role][0]}'`);
    await expect(query('aqe_sync', latest('aqe_sync'), 'SELECT 1')).rejects.toThrow(/password authentication failed/);
    // runbook: gcloud sql users set-password aqe_admin … from the secret, then run the bootstrap job
    sql.controlPlaneSql(`ALTER ROLE aqe_admin PASSWORD '${latest('aqe_admin')}'`);
    const boot = await runBootstrapJob();
    expect(boot.status, JSON.stringify(boot.body)).toBe(200);
    expect(boot.body).toMatchObject({ createdRoles: [], resetPasswords: ['aqe_sync', 'aqe_reader'] });
    for (const role of ['aqe_sync', 'aqe_reader'] as const) expect(await query<{ u: string }>(role, latest(role), 'SELECT current_user AS u')).toEqual([{ u: role }]);
    const manifestKey = await load('e-3');
    expect(await query('aqe_reader', latest('aqe_reader'), `SELECT status FROM aqe.sync_runs WHERE manifest_key = $1`, [manifestKey])).toEqual([{ status: 'succeeded' }]);
    // a healthy database: the next run resets nothing
    expect((await runBootstrapJob()).body.resetPasswords).toEqual([]);
  }, 180_000);

  it('keeps every password out of the function logs, the server log and the synthesized stack', () => {
    const secrets = ROLES.flatMap((r) => passwords[r]);
    expect(secrets).toHaveLength(6);
    const haystacks: Record<string, string> = {
      'synthesized stack (state)': JSON.stringify(stack.tf),
      'server log': sql.serverLog(),
      ...Object.fromEntries(Object.entries(fns).map(([k, f]) => [`${k} logs`, JSON.stringify(f.logs()) + f.rawLines().join('\n')])),
    };
    for (const [where, text] of Object.entries(haystacks)) {
      expect(text.length, where).toBeGreaterThan(0);
      for (const s of secrets) expect(text.includes(s), `a password appears in: ${where}`).toBe(false);
    }
  });
});
