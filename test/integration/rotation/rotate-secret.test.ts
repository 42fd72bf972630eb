// Password rotation against native PostgreSQL (scram over TCP, a real LOGIN role) with the secret
// in an InMemorySecretSource, served by the real Functions Framework. The continuous loads run in
// this process (an async loop on a second runtime = another function instance): a child process
// could not share the in-memory secret source, and a file-backed source would test a SecretSource
// nobody deploys; what matters is that the database client re-reads the secret on 28P01.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setFunctionRuntime } from '../../../functions/index.js';
import { loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { createLogger } from '../../../functions/observability/logger.js';
import { applyReconcile } from '../../../functions/reconcile/apply-reconcile.js';
import { handleRotationEvent } from '../../../functions/rotate-secret/handle-rotation.js';
import type { RotationStep } from '../../../functions/rotate-secret/rotate-secret.js';
import { createFunctionContext, type ContextOverrides, type FunctionRuntime } from '../../../functions/runtime/function-context.js';
import { Redacted } from '../../../functions/secrets/redacted.js';
import { InMemorySecretSource, type SecretSource } from '../../../functions/secrets/secret-source.js';
import type { BlobStore } from '../../../functions/storage/blob-store.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { buildWorkspace } from '../../support/workspace-builder.js';
import { copyManifest, createLoginRole, type LoginRole, pushWorkspace, tryLogin } from '../reconcile/support.js';

const SECRET = 'projects/aqe-test/secrets/db-password';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let tdb: TestDatabase;
let role: LoginRole;
let adminUrl: string;
let port: number;
let dir: string;
let store: BlobStore;
let manifestKey: string;
let server: Server;
const logLines: string[] = [];
const errorTexts: string[] = [];
const processOutput: string[] = [];
const runtimes: FunctionRuntime[] = [];
let restoreOutput: () => void;

const target = () => ({ host: '127.0.0.1', port, database: tdb.name, user: role.name });
const envFor = (extra: Record<string, string> = {}) => ({
  AQE_DB_HOST: '127.0.0.1',
  AQE_DB_PORT: String(port),
  AQE_DB_NAME: tdb.name,
  AQE_DB_USER: role.name,
  AQE_DB_PASSWORD_SECRET: SECRET,
  AQE_ROTATION_GRACE_HOURS: '24',
  AQE_ROTATION_MIN_INTERVAL_MINUTES: '30',
  AQE_LOG_LEVEL: 'DEBUG',
  ...extra,
});
function runtime(secrets: SecretSource, extra: Record<string, string> = {}, overrides: Partial<ContextOverrides> = {}): FunctionRuntime {
  const rt = createFunctionContext({ env: envFor(extra), secrets, store, log: createLogger({ minSeverity: 'DEBUG', write: (l) => logLines.push(l) }), ...overrides });
  runtimes.push(rt);
  return rt;
}
/** The in-memory source's versions (tests only: disabled values, create times). */
function internals(secrets: InMemorySecretSource): Map<string, { value: string; info: { name: string; createTime: Date } }[]> {
  return (secrets as unknown as { secrets: Map<string, { value: string; info: { name: string; createTime: Date } }[]> }).secrets;
}
/** Every version's value, newest first (disabled ones too). */
async function allValues(secrets: InMemorySecretSource): Promise<string[]> {
  return (internals(secrets).get(SECRET) ?? []).map((v) => v.value).reverse();
}
function rotationEvent(messageId: string, eventType = 'SECRET_ROTATE') {
  return { message: { attributes: { eventType, secretId: SECRET }, data: Buffer.from(JSON.stringify({ name: SECRET })).toString('base64'), messageId } };
}
async function postCloudEvent(messageId: string, eventType = 'SECRET_ROTATE'): Promise<number> {
  const { port: p } = server.address() as AddressInfo;
  const res = await fetch(`http://127.0.0.1:${p}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': '//pubsub.googleapis.com/projects/aqe-test/topics/db-password-rotation',
      'ce-id': messageId,
      'ce-time': new Date().toISOString(),
    },
    body: JSON.stringify({ ...rotationEvent(messageId, eventType), subscription: 'projects/aqe-test/subscriptions/eventarc-rotate' }),
  });
  await res.arrayBuffer();
  return res.status;
}
async function latestLogsIn(secrets: InMemorySecretSource): Promise<string> {
  return tryLogin(target(), (await secrets.accessLatest(SECRET)).value.reveal());
}

beforeAll(async () => {
  const tap = (stream: NodeJS.WriteStream) => {
    const original = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      processOutput.push(String(chunk));
      return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    return () => {
      stream.write = original;
    };
  };
  const r1 = tap(process.stdout);
  const r2 = tap(process.stderr);
  const consoleMethods = ['log', 'info', 'warn', 'error', 'debug'] as const;
  const originals = consoleMethods.map((m) => console[m]);
  for (const m of consoleMethods) {
    const original = console[m];
    console[m] = (...args: unknown[]) => {
      processOutput.push(args.map((a) => (a instanceof Error ? `${a.message}\n${a.stack}` : typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
      original(...args);
    };
  }
  restoreOutput = () => {
    r1();
    r2();
    consoleMethods.forEach((m, i) => {
      console[m] = originals[i]!;
    });
  };
  tdb = await createTestDatabase('rotation');
  const u = new URL(tdb.url);
  adminUrl = tdb.url;
  port = Number(u.port);
  role = await createLoginRole(adminUrl, tdb.name);
  dir = await mkdtemp(join(tmpdir(), 'aqe-rotation-'));
  const ws = await buildWorkspace(join(dir, 'ws'));
  const bucketUrl = pathToFileURL(join(dir, 'bucket')).href;
  const pushed = await pushWorkspace(ws.root, bucketUrl, 'laptop');
  store = new LocalDirBlobStore(join(dir, 'bucket'));
  manifestKey = pushed.manifestKey!;
  server = getTestServer('rotateSecret');
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
});

afterAll(async () => {
  restoreOutput?.();
  await new Promise((r) => server?.close(r));
  for (const rt of runtimes) await rt.close();
  await tdb?.drop();
  await role?.drop();
  await rm(dir, { recursive: true, force: true });
});

describe('rotateSecret', () => {
  const secrets = new InMemorySecretSource();

  it('rotates through the Functions Framework while loads and queries run, with zero failed loads', async () => {
    await secrets.addVersion(SECRET, new Redacted(role.password));
    // the first version was added two hours ago (the in-memory source stamps the real time)
    internals(secrets).get(SECRET)![0]!.info.createTime = new Date(Date.now() - 2 * 3600_000);
    let offsetMs = 0;
    const rotator = runtime(secrets, {}, { now: () => new Date(Date.now() + offsetMs) });
    setFunctionRuntime(rotator);
    // another instance: short idle timeout so connections are opened (and authenticated) all the time
    const loader = runtime(secrets, {}, { pg: { max: 3, idleTimeoutMs: 20 } });
    await loader.withDb((db) => loadSnapshot({ store, db }, manifestKey));

    let stop = false;
    const failures: unknown[] = [];
    const outcomes: Record<string, number> = {};
    let loadsAfterRotations = 0;
    let rotationsDone = false;
    let queries = 0;
    let turn = 0;
    // alternate real loads (a new snapshot id, the same content) and redelivered ones (duplicates)
    const loadLoop = async () => {
      while (!stop) {
        try {
          const key = turn++ % 2 === 0 ? await copyManifest(store, manifestKey) : manifestKey;
          const o = await loader.withDb((db) => loadSnapshot({ store, db, log: loader.log }, key));
          outcomes[o.status] = (outcomes[o.status] ?? 0) + 1;
          if (rotationsDone) loadsAfterRotations++;
        } catch (err) {
          failures.push(err);
        }
        await sleep(25 + Math.random() * 25);
      }
    };
    const queryLoop = async () => {
      while (!stop) {
        try {
          await loader.withDb((db) => db.query('SELECT count(*) FROM aqe.sync_runs'));
          queries++;
        } catch (err) {
          failures.push(err);
        }
        await sleep(30);
      }
    };
    const loops = [loadLoop(), loadLoop(), queryLoop()];
    try {
    await sleep(400);
    expect(await postCloudEvent('msg-1')).toBeLessThan(300);
    await sleep(400);
    // redelivery of the same notification: nothing happens twice
    expect(await postCloudEvent('msg-1')).toBeLessThan(300);
    expect((await secrets.listVersions(SECRET)).length).toBe(2);
    offsetMs = 3600_000; // the next scheduled rotation, an hour later
    expect(await postCloudEvent('msg-2')).toBeLessThan(300);
    rotationsDone = true;
    for (let i = 0; i < 100 && loadsAfterRotations < 2; i++) await sleep(100);
    } finally {
      stop = true;
      await Promise.all(loops);
    }

    expect(failures.map((f) => String(f))).toEqual([]);
    expect(outcomes['loaded'] ?? 0).toBeGreaterThan(0);
    expect(outcomes['duplicate'] ?? 0).toBeGreaterThan(0);
    expect(loadsAfterRotations).toBeGreaterThanOrEqual(2);
    expect(queries).toBeGreaterThan(5);
    expect(logLines.filter((l) => l.includes('"db_auth_retry"')).length).toBeGreaterThan(0);
    expect(logLines.filter((l) => l.includes('"secret_rotated"')).length).toBe(2);
    expect(logLines.filter((l) => l.includes('"rotation_skipped"')).length).toBe(1);

    // Postgres knows one password: the old ones are refused at once; the grace period keeps the
    // superseded secret VERSIONS enabled (readable), not the old passwords valid
    const versions = await secrets.listVersions(SECRET);
    expect(versions.map((v) => v.state)).toEqual(['ENABLED', 'ENABLED', 'ENABLED']);
    const [v1, v2, v3] = await allValues(secrets).then((v) => v.reverse());
    expect(await tryLogin(target(), v1!)).toBe('28P01');
    expect(await tryLogin(target(), v2!)).toBe('28P01');
    expect(await tryLogin(target(), v3!)).toBe('ok');
    expect(await latestLogsIn(secrets)).toBe('ok');

    // the server stores a SCRAM verifier computed client-side
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    const stored = (await admin.query<{ p: string }>('SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1', [role.name])).rows[0]?.p ?? '';
    await admin.end();
    expect(stored).toMatch(/^SCRAM-SHA-256\$4096:/);
    expect(stored).not.toContain(v3!);

    // a later notification after the grace period disables the superseded versions
    offsetMs = 3600_000 + 25 * 3600_000;
    expect(await postCloudEvent('msg-3', 'SECRET_VERSION_ADD')).toBeLessThan(300);
    expect((await secrets.listVersions(SECRET)).map((v) => v.state)).toEqual(['ENABLED', 'DISABLED', 'DISABLED']);
    expect(await latestLogsIn(secrets)).toBe('ok');
  });

  it('leaves a working latest version whatever step fails', async () => {
    const rt = runtime(secrets, { AQE_ROTATION_MIN_INTERVAL_MINUTES: '0' });
    const event = (id: string) => ({ id, data: rotationEvent(id) });
    const steps: RotationStep[] = ['connect', 'lock', 'alter_role', 'verify_login', 'add_version', 'confirm_latest', 'disable_expired'];
    let n = 0;
    for (const step of steps) {
      const before = (await secrets.accessLatest(SECRET)).version;
      const err = await handleRotationEvent(rt, event(`fail-${step}`), {
        beforeStep: (s) => {
          if (s === step) throw new Error(`injected failure before ${s}`);
        },
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, step).toBeInstanceOf(Error);
      errorTexts.push(String(err), JSON.stringify(err), (err as Error).stack ?? '');
      expect(await latestLogsIn(secrets), `after a failure before ${step}`).toBe('ok');
      const after = (await secrets.accessLatest(SECRET)).version;
      // up to add_version nothing was published; after it, the new version is the working one
      if (steps.indexOf(step) <= steps.indexOf('add_version')) expect(after, step).toBe(before);
      else expect(after, step).not.toBe(before);
      n++;
    }
    expect(n).toBe(steps.length);

    // Secret Manager failures
    for (const method of ['accessLatest', 'listVersions', 'addVersion'] as const) {
      secrets.failNext[method] = new Error(`injected ${method} failure`);
      const err = await handleRotationEvent(rt, event(`sm-${method}`)).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, method).toBeInstanceOf(Error);
      errorTexts.push(String(err), (err as Error).stack ?? '');
      expect(await latestLogsIn(secrets), `after ${method} failed`).toBe('ok');
    }
    secrets.failNext.disableVersion = new Error('injected disable failure');
    const partial = await handleRotationEvent(rt, event('sm-disable'));
    expect(partial.status).toBe('rotated');
    expect(await latestLogsIn(secrets)).toBe('ok');

    // database failures: the rotation session dies before ALTER ROLE, and before publishing
    // (then the old password is restored through a fresh login with the new one)
    const kill = async () => {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'aqe-rotate-secret'`);
      await admin.end();
    };
    for (const step of ['alter_role', 'add_version'] as const) {
      if (step === 'add_version') secrets.failNext.addVersion = new Error('injected addVersion failure');
      const err = await handleRotationEvent(rt, event(`db-${step}`), {
        beforeStep: async (s) => {
          if (s === step) await kill();
        },
      }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, step).toBeInstanceOf(Error);
      errorTexts.push(String(err), (err as Error).stack ?? '');
      expect(await latestLogsIn(secrets), `after the session died before ${step}`).toBe('ok');
    }

    // a lost response: the version was added but the call failed → the rotation stands
    const lossy: SecretSource = Object.assign(Object.create(secrets) as SecretSource, {
      addVersion: async (s: string, v: Redacted<string>) => {
        await secrets.addVersion(s, v);
        throw new Error('deadline exceeded (response lost)');
      },
    });
    const lossyRt = runtime(lossy, { AQE_ROTATION_MIN_INTERVAL_MINUTES: '0' });
    expect((await handleRotationEvent(lossyRt, event('lossy'))).status).toBe('rotated');
    expect(await latestLogsIn(secrets)).toBe('ok');

    // through the Functions Framework, a failed rotation answers 500 (Pub/Sub redelivers)
    setFunctionRuntime(rt);
    secrets.failNext.addVersion = new Error('injected addVersion failure (via the framework)');
    expect(await postCloudEvent('ff-fail')).toBe(500);
    expect(await latestLogsIn(secrets)).toBe('ok');

    // a split state (the latest version does not log in, an older enabled one does) heals
    await secrets.addVersion(SECRET, new Redacted('not-the-password'));
    expect(await latestLogsIn(secrets)).toBe('28P01');
    const healed = await handleRotationEvent(runtime(secrets), event('heal'));
    expect(healed).toMatchObject({ status: 'rotated' });
    expect(healed.status === 'rotated' && healed.healedFrom).toBeTruthy();
    expect(await latestLogsIn(secrets)).toBe('ok');
  });

  it('lets reconcile survive a rotation: DB_AUTH → re-read the secret → fresh pool', async () => {
    const rt = runtime(secrets, { AQE_BUCKET: 'unused', AQE_ROTATION_MIN_INTERVAL_MINUTES: '0' }, { pg: { max: 2, idleTimeoutMs: 10 } });
    const deps = () => ({
      store,
      withDb: <T>(fn: (db: import('../../../functions/db/database.js').DatabaseConnection) => Promise<T>) => rt.withDb(fn),
      embedder: async () => ({ embedder: null, reason: 'no model in this test' }),
      log: rt.log,
      policy: { retentionDays: 90, safetyWindowMs: 24 * 3600_000, budgetMs: 60_000 },
    });
    await copyManifest(store, manifestKey);
    const first = await applyReconcile(deps(), { only: ['load'] });
    expect(first.errors).toEqual([]);
    expect(first.loads.length).toBeGreaterThan(0);
    const retriesBefore = logLines.filter((l) => l.includes('"db_auth_retry"')).length;
    expect((await handleRotationEvent(runtime(secrets, { AQE_ROTATION_MIN_INTERVAL_MINUTES: '0' }), { id: 'r', data: rotationEvent('r') })).status).toBe('rotated');
    await sleep(50); // the idle connections of the old pool close
    const missed = await copyManifest(store, manifestKey);
    const second = await applyReconcile(deps(), { only: ['load', 'staleness'] });
    expect(second.errors).toEqual([]);
    expect(second.loads.find((l) => l.manifestKey === missed)?.status).toBe('loaded');
    expect(logLines.filter((l) => l.includes('"db_auth_retry"')).length).toBeGreaterThan(retriesBefore);
  });

  it('never writes a password into logs, errors or process output', async () => {
    const values = await allValues(secrets);
    expect(values.length).toBeGreaterThan(5);
    const haystacks = [...logLines, ...errorTexts, ...processOutput];
    expect(haystacks.length).toBeGreaterThan(20);
    for (const v of [...values, role.password]) {
      for (const h of haystacks) expect(h.includes(v), `a password appears in: ${h.slice(0, 200)}`).toBe(false);
    }
  });
});
