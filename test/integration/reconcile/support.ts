// Shared by the reconcile and rotation tests: a pushed workspace in a bucket, manifest copies
// under new snapshot ids (the same content as another snapshot, or an old one), a login role.

import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { encodeTime, ulid } from 'ulid';
import type { BlobStore } from '../../../functions/storage/blob-store.js';
import { manifestKey, parseManifestKey } from '../../../schema/snapshot/object-keys.js';
import { loadConfig } from '../../../uploader/config.js';
import { type PushResult, runPush } from '../../../uploader/push/run-push.js';

/** Pushes the workspace at `root` to `bucketUrl` (or `store`) as environment `env`. */
export function pushWorkspace(root: string, bucketUrl: string, env: string, store?: BlobStore): Promise<PushResult> {
  const config = loadConfig({ flags: { workspace: root, env, bucket: bucketUrl }, env: {}, workspace: root, configText: null });
  return runPush({ config, ...(store ? { store } : {}) });
}

/** A snapshot id whose time is `at`. */
export function snapshotIdAt(at: Date): string {
  return encodeTime(at.getTime(), 10) + ulid().slice(10);
}

/** Copies the manifest at `key` under a new snapshot id (same sources): a distinct snapshot. */
export async function copyManifest(store: BlobStore, key: string, snapshotId: string = ulid()): Promise<string> {
  const parts = parseManifestKey(key);
  if (!parts) throw new Error(`not a manifest key: ${key}`);
  const json = JSON.parse((await store.get(key)).toString('utf8')) as Record<string, unknown>;
  json['snapshotId'] = snapshotId;
  const to = manifestKey(parts.env, snapshotId);
  await store.put(to, Buffer.from(JSON.stringify(json, null, 2)), { contentType: 'application/json' });
  return to;
}

/** Changes `.claude-flow/memory/store.json`: one entry updated (newer), one added, one removed. */
export async function mutateStore(root: string, step: number): Promise<void> {
  const path = join(root, '.claude-flow', 'memory', 'store.json');
  const doc = JSON.parse(await readFile(path, 'utf8')) as { entries: Record<string, Record<string, unknown>> };
  const keys = Object.keys(doc.entries);
  const first = keys[0];
  if (first && doc.entries[first]) {
    doc.entries[first]['value'] = `changed in step ${step}`;
    doc.entries[first]['lastAccessed'] = new Date(Date.UTC(2025, 5, 1 + step)).toISOString();
  }
  const last = keys.at(-1);
  if (last && keys.length > 2) delete doc.entries[last];
  doc.entries[`added-${step}`] = { key: `added-${step}`, value: `new in step ${step}`, storedAt: new Date(Date.UTC(2025, 5, 1 + step)).toISOString() };
  await writeFile(path, JSON.stringify(doc, null, 2));
}

export interface LoginRole {
  name: string;
  password: string;
  drop(): Promise<void>;
}

/** A LOGIN role (scram) owning database `database`, so it can migrate and load. */
export async function createLoginRole(adminUrl: string, database: string): Promise<LoginRole> {
  const name = `aqe_rot_${process.pid}_${randomBytes(3).toString('hex')}`;
  const password = randomBytes(24).toString('base64url');
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`SET password_encryption = 'scram-sha-256'`);
    await admin.query(`CREATE ROLE "${name}" LOGIN PASSWORD '${password}'`);
    await admin.query(`ALTER DATABASE "${database}" OWNER TO "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    password,
    drop: async () => {
      // the database itself may be gone by now: drop the role from the maintenance database
      const maintenance = new URL(adminUrl);
      maintenance.pathname = '/postgres';
      const c = new pg.Client({ connectionString: maintenance.toString() });
      await c.connect();
      try {
        await c.query(`DROP ROLE IF EXISTS "${name}"`);
      } finally {
        await c.end();
      }
    },
  };
}

/** Tries a fresh login; resolves to the SQLSTATE of the failure, or 'ok'. */
export async function tryLogin(url: { host: string; port: number; database: string; user: string }, password: string): Promise<string> {
  const c = new pg.Client({ ...url, password, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query('SELECT 1');
    return 'ok';
  } catch (err) {
    return String((err as { code?: unknown }).code ?? (err as Error).message);
  } finally {
    await c.end().catch(() => undefined);
  }
}
