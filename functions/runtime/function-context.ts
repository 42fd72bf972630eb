// What every deployed function needs, created once per instance from the validated config:
// the logger, the bucket, the database (password from Secret Manager) and the embedder.
// Built lazily so a cold start that only acknowledges an event stays cheap.

import { AppError, isAppError } from '../../schema/errors.js';
import { type FunctionsConfig, loadConfig, pgTlsOptions } from '../config/config.js';
import { CONFIG_ENV } from '../entry-points.js';
import type { DatabaseConnection } from '../db/database.js';
import { openDatabase } from '../db/open-database.js';
import type { PgDatabaseOptions } from '../db/pg-database.js';
import { type Embedder, loadEmbedder } from '../embed/embedder.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { createGcpSecretSource, type SecretSource } from '../secrets/secret-source.js';
import type { BlobStore } from '../storage/blob-store.js';
import { GcsBlobStore } from '../storage/gcs-blob-store.js';

export interface FunctionContext {
  config: Readonly<FunctionsConfig>;
  log: Logger;
  store(): BlobStore;
  db(): Promise<DatabaseConnection>;
  embedder(): Promise<{ embedder: Embedder | null; reason?: string }>;
  /**
   * Drops the cached database after an authentication failure (the password may have rotated).
   * Waits (bounded) until the secret's latest version is newer than the one the pool was opened
   * with, so a caller that failed while a rotation was between ALTER ROLE and publishing the new
   * version still gets the new password. Pass the Database that failed: when it was already
   * replaced (a concurrent caller refreshed it) nothing happens. The old pool is closed after a
   * drain delay, so work still running on its connections finishes.
   */
  resetDb(stale?: DatabaseConnection): Promise<void>;
}

/** The context plus what the reconcile and rotation functions need. */
export interface FunctionRuntime extends FunctionContext {
  secrets(): Promise<SecretSource>;
  /** The clock (tests may fix it). */
  now(): Date;
  /**
   * Runs `fn` with the database; on DB_AUTH (SQLSTATE 28P01: the password rotated) re-reads the
   * secret, opens a fresh pool and runs `fn` once more. `fn` must be safe to repeat.
   */
  withDb<T>(fn: (db: DatabaseConnection) => Promise<T>, log?: Logger): Promise<T>;
  /** Closes the database pools (current and retired). */
  close(): Promise<void>;
}

export interface ContextOverrides {
  env?: Record<string, string | undefined>;
  secrets?: SecretSource;
  store?: BlobStore;
  log?: Logger;
  now?: () => Date;
  /** How long resetDb waits for a newer secret version (default 10 s). */
  authRetryWaitMs?: number;
  /** How long a replaced pool keeps serving work already running on it before it is closed (default 30 s). */
  poolDrainMs?: number;
  /** Pool settings (default: max 3). */
  pg?: PgDatabaseOptions;
}

/** The database URL for the config: given directly, or assembled with the password from Secret Manager. */
export async function databaseUrlFor(config: Readonly<FunctionsConfig>, secrets: () => Promise<SecretSource>): Promise<string> {
  if (config.database.kind === 'url') return config.database.url;
  const { host, port, database, user, passwordSecret } = config.database;
  const { value } = await (await secrets()).accessLatest(passwordSecret);
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(value.reveal())}@${host}:${port}/${encodeURIComponent(database)}`;
}

/** Attempts of one operation across a password rotation (the first, then after each refresh). */
const AUTH_ATTEMPTS = 3;

interface OpenedDb {
  db: Promise<DatabaseConnection>;
  /** Secret version the password came from (null for a URL config). */
  version: Promise<string | null>;
}

export function createFunctionContext(overrides: ContextOverrides = {}): FunctionRuntime {
  // no env override: the config module reads process.env itself (the only reader)
  const config = loadConfig(overrides.env);
  const log = overrides.log ?? createLogger({ minSeverity: config.logLevel === 'WARNING' ? 'WARNING' : config.logLevel });
  const now = overrides.now ?? (() => new Date());
  const authRetryWaitMs = overrides.authRetryWaitMs ?? 10_000;
  const poolDrainMs = overrides.poolDrainMs ?? 30_000;
  let store: BlobStore | undefined = overrides.store;
  let current: OpenedDb | undefined;
  const retired = new Map<DatabaseConnection, NodeJS.Timeout>();
  let refreshing: Promise<void> | undefined;
  let embedder: Promise<{ embedder: Embedder | null; reason?: string }> | undefined;
  let secrets: Promise<SecretSource> | undefined;
  const secretSource = () =>
    (secrets ??= overrides.secrets
      ? Promise.resolve(overrides.secrets)
      : createGcpSecretSource(config.secretManagerEndpoint ? { endpoint: config.secretManagerEndpoint } : {}));

  const open = (): OpenedDb => {
    const url =
      config.database.kind === 'url'
        ? Promise.resolve({ url: config.database.url, version: null })
        : urlWithVersion(config.database, secretSource);
    const ssl = config.database.kind === 'secret' ? pgTlsOptions(config.database.ssl) : undefined;
    const db = url.then(({ url: u }) => openDatabase(u, { pg: { max: 3, applicationName: 'aqe-functions', ...(ssl ? { ssl } : {}), ...overrides.pg } }));
    const version = url.then((u) => u.version);
    // observed through `db` by every caller; never an unhandled rejection of its own
    version.catch(() => undefined);
    return { db, version };
  };
  const retire = (old: DatabaseConnection) => {
    if (retired.has(old)) return;
    const timer = setTimeout(() => {
      retired.delete(old);
      void old.close().catch(() => undefined);
    }, poolDrainMs);
    timer.unref();
    retired.set(old, timer);
  };
  const waitForNewerVersion = async (version: string | null) => {
    if (config.database.kind !== 'secret' || version === null) return;
    const secret = config.database.passwordSecret;
    const deadline = Date.now() + authRetryWaitMs;
    const source = await secretSource();
    for (;;) {
      const latest = await source.accessLatest(secret).catch(() => null);
      if (!latest || latest.version !== version || Date.now() >= deadline) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const runtime: FunctionRuntime = {
    config,
    log,
    now,
    secrets: secretSource,
    store() {
      if (!store) {
        if (!config.bucket) {
          throw new AppError('CONFIG_INVALID', `${CONFIG_ENV.bucket} is not set: the function needs the name of the snapshot bucket it reads; the infra sets it on every function (infra/constructs), so set it the same way, e.g. ${CONFIG_ENV.bucket}=aqe-snapshots-<project>`);
        }
        store = new GcsBlobStore({
          bucket: config.bucket.name,
          prefix: config.bucket.prefix,
          ...(config.bucket.apiEndpoint ? { storageOptions: { apiEndpoint: config.bucket.apiEndpoint, projectId: 'local' } } : {}),
        });
      }
      return store;
    },
    db() {
      if (!current) {
        const opened = open();
        current = opened;
        opened.db.catch(() => {
          if (current === opened) current = undefined;
        });
      }
      return current.db;
    },
    embedder() {
      embedder ??= loadEmbedder(config.modelDir ? { modelDir: config.modelDir } : { probeTimeoutMs: 5000 })
        .then((e) => ({ embedder: e }))
        .catch((err: unknown) => {
          if (isAppError(err, 'MODEL_UNAVAILABLE')) {
            log.warn('embedding model unavailable: rows stay pending', { event: 'model_unavailable', reason: err.message });
            return { embedder: null, reason: err.message };
          }
          throw err;
        });
      return embedder;
    },
    resetDb(stale?: DatabaseConnection) {
      // concurrent callers share one refresh
      refreshing ??= (async () => {
        const entry = current;
        if (!entry) return;
        const currentDb = await entry.db.catch(() => null);
        if (stale && currentDb !== stale) return;
        await waitForNewerVersion(await entry.version.catch(() => null));
        if (current === entry) current = undefined;
        if (currentDb) retire(currentDb);
      })().finally(() => {
        refreshing = undefined;
      });
      return refreshing;
    },
    async withDb<T>(fn: (db: DatabaseConnection) => Promise<T>, fnLog: Logger = log): Promise<T> {
      // A rotation can overlap one attempt (the password changed after the pool read the secret,
      // before the new version was published): each retry first waits for a newer version.
      for (let attempt = 1; ; attempt++) {
        const db = await runtime.db();
        try {
          return await fn(db);
        } catch (err) {
          // DB_AUTH: new connections refuse the old password; DB_CONNECTION on a pool a concurrent
          // refresh replaced: both succeed on the fresh pool
          const replaced = isAppError(err, 'DB_CONNECTION') && (retired.has(db) || (current !== undefined && (await current.db.catch(() => null)) !== db));
          if ((!isAppError(err, 'DB_AUTH') && !replaced) || attempt >= AUTH_ATTEMPTS) throw err;
          fnLog.notice('database authentication failed: re-reading the password and retrying', { event: 'db_auth_retry', attempt });
          await runtime.resetDb(db);
        }
      }
    },
    async close() {
      const entry = current;
      current = undefined;
      const dbs = [...retired.keys()];
      for (const t of retired.values()) clearTimeout(t);
      retired.clear();
      if (entry) {
        const db = await entry.db.catch(() => null);
        if (db) dbs.push(db);
      }
      await Promise.all(dbs.map((d) => d.close().catch(() => undefined)));
    },
  };
  return runtime;
}

async function urlWithVersion(
  database: Extract<FunctionsConfig['database'], { kind: 'secret' }>,
  secrets: () => Promise<SecretSource>,
): Promise<{ url: string; version: string | null }> {
  const { host, port, database: name, user, passwordSecret } = database;
  const { value, version } = await (await secrets()).accessLatest(passwordSecret);
  return { url: `postgres://${encodeURIComponent(user)}:${encodeURIComponent(value.reveal())}@${host}:${port}/${encodeURIComponent(name)}`, version };
}
