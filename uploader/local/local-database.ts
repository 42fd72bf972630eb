// How the CLI opens a database. A PGlite folder (the embedded default) is opened only while this
// process holds its lock (database-lock.ts), for the span of one piece of work, and is checked as
// it opens: a folder PostgreSQL cannot read back is reported as damaged, with the command that
// rebuilds it from the bucket, never left to hang. Who is waiting, for how long, and what to say
// while waiting come from the command's context (set once per CLI run in run-cli.ts).

import { AsyncLocalStorage } from 'node:async_hooks';
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DatabaseConnection } from '../../functions/db/database.js';
import { openDatabase, parseDatabaseUrl } from '../../functions/db/open-database.js';
import { AppError, errorMessage, isAppError } from '../../schema/errors.js';
import { acquireDatabaseLock, type HeldLock, type LockHolder } from './database-lock.js';

import { CLI_ENV, DEFAULT_LOCK_TIMEOUT_SECONDS } from '../config/env-settings.js';

/** The variable that sets how long a command waits (named in the lock's messages). */
export const LOCK_TIMEOUT_VARIABLE = CLI_ENV.lockTimeout;

/** What the running command says about itself to the lock. */
export interface LocalDatabaseContext {
  /** e.g. `aqe-upload watch` */
  owner: string;
  timeoutMs: number;
  /** The lock is busy (first time, and when the holder changes). */
  onWait?: (holder: LockHolder | null, dataDir: string) => void;
  /** The lock was taken (after `waitedMs`). */
  onAcquired?: (waitedMs: number, dataDir: string) => void;
  /** Stops a wait (watch's Ctrl-C). */
  signal?: AbortSignal;
}

const contextStore = new AsyncLocalStorage<LocalDatabaseContext>();

/** Runs `fn` with `context` applying to every database it opens. */
export function runWithLocalDatabaseContext<T>(context: LocalDatabaseContext, fn: () => T): T {
  return contextStore.run(context, fn);
}

/** The current context (a library caller without one waits the default time, silently). */
export function localDatabaseContext(): LocalDatabaseContext {
  return contextStore.getStore() ?? { owner: `aqe-upload (pid ${process.pid})`, timeoutMs: DEFAULT_LOCK_TIMEOUT_SECONDS * 1000 };
}

/** The same context with one field changed, for the span of `fn` (e.g. watch adds its stop signal). */
export function withLocalDatabaseContext<T>(patch: Partial<LocalDatabaseContext>, fn: () => T): T {
  return contextStore.run({ ...localDatabaseContext(), ...patch }, fn);
}

/** The PGlite folder a URL names, or null (a server, or in memory). */
export function pgliteDataDir(url: string): string | null {
  const target = parseDatabaseUrl(url);
  return target.kind === 'pglite' && target.dataDir !== undefined ? target.dataDir : null;
}

/** The command that rebuilds a damaged folder (the workspace form when it is a workspace's default). */
export function rebuildHint(dataDir: string): string {
  const normal = dataDir.replace(/\/+$/, '');
  if (basename(normal) === 'db' && basename(dirname(normal)) === '.aqe-sync') return `aqe-upload rebuild --workspace ${dirname(dirname(normal))}`;
  return `aqe-upload rebuild --database pglite://${normal}`;
}

/**
 * Runs `fn` with the database `url` names, opened for this span only and always closed. For a
 * PGlite folder: under its lock, checked at open (a damaged folder → AppError DB_DAMAGED);
 * `beforeOpen` runs under the lock before the folder is opened (rebuild moves it aside there).
 */
export async function withOpenDatabase<T>(url: string, fn: (db: DatabaseConnection) => Promise<T>, options: { beforeOpen?: (dataDir: string) => Promise<void> } = {}): Promise<T> {
  const dataDir = pgliteDataDir(url);
  if (dataDir === null) {
    const db = await openDatabase(url);
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }
  const context = localDatabaseContext();
  const lock: HeldLock = await acquireDatabaseLock(dataDir, {
    owner: context.owner,
    timeoutMs: context.timeoutMs,
    timeoutSetting: LOCK_TIMEOUT_VARIABLE,
    ...(context.onWait ? { onWait: (holder: LockHolder | null) => context.onWait?.(holder, dataDir) } : {}),
    ...(context.signal ? { signal: context.signal } : {}),
  });
  // An open that never finished may still be running in this process: then the lock stays held
  // until the process ends (the kernel drops it), so no other process opens the folder meanwhile.
  let keepLock = false;
  try {
    context.onAcquired?.(lock.waitedMs, dataDir);
    await options.beforeOpen?.(dataDir);
    const db = await openChecked(url, dataDir).catch((err: unknown) => {
      keepLock = err instanceof AppError && err.details?.['openTimedOut'] === true;
      throw err;
    });
    let damaged = false;
    try {
      return await fn(db);
    } catch (err) {
      const reason = damageReason(err);
      if (reason !== null) {
        damaged = true;
        throw damagedError(dataDir, reason, err);
      }
      throw err;
    } finally {
      // A PGlite that aborted may never answer again: do not let its close hold the command.
      await closeWithin(db, damaged ? 2000 : 30_000);
    }
  } finally {
    if (!keepLock) await lock.release();
  }
}

/** True when `dir` holds a PostgreSQL data folder (not a new, empty one). */
function isDataFolder(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION'));
}

async function openChecked(url: string, dataDir: string): Promise<DatabaseConnection> {
  const existed = isDataFolder(dataDir);
  let db: DatabaseConnection;
  try {
    db = await withTimeout(openDatabase(url), OPEN_TIMEOUT_MS, `opening the local database ${dataDir} took over ${OPEN_TIMEOUT_MS / 1000} s`);
  } catch (err) {
    if (isAppError(err) && err.details?.['openTimedOut'] === true) {
      throw new AppError('DB_DAMAGED', `${err.message}; it may be damaged: ${rebuildHint(dataDir)} rebuilds it from the bucket's snapshots`, { cause: err, details: { dataDir, openTimedOut: true } });
    }
    if (existed) throw damagedError(dataDir, firstLine(errorMessage(err)).replace(/^cannot open PGlite database [^:]*: /, '').replace(/\. Check that the directory.*$/, ''), err);
    throw err;
  }
  if (!existed) return db;
  try {
    // Reads the catalog: a folder that opens but cannot read its own tables says so here.
    await db.query('SELECT count(*) AS n FROM pg_catalog.pg_class');
    return db;
  } catch (err) {
    await closeWithin(db, 2000);
    throw damagedError(dataDir, damageReason(err) ?? firstLine(errorMessage(err)), err);
  }
}

/** An open of a folder taking longer than this is reported (PGlite opens a workspace's in seconds). */
const OPEN_TIMEOUT_MS = 120_000;

const DAMAGE_PATTERNS = [
  /SQLSTATE XX00[12]/, // data_corrupted, index_corrupted
  /SQLSTATE 58P01/, // a relation file is gone
  /Aborted\(\)/, // PGlite's WASM stopped
  /could not read block|invalid page in block|unexpected zero page|cache lookup failed|could not open file|catalog is missing|PGlite failed to initialize/i,
];

/** The first line of a damage error in `err`'s chain, or null when it is some other failure. */
export function damageReason(err: unknown): string | null {
  if (err instanceof AppError && err.code === 'DB_DAMAGED') return null;
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = errorMessage(current);
    if (DAMAGE_PATTERNS.some((re) => re.test(message))) return firstLine(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return null;
}

function damagedError(dataDir: string, reason: string, cause: unknown): AppError {
  const why = reason.replace(/\s*Build with -sASSERTIONS for more info\.*/, '').replace(/^Aborted\(\)$/, "PostgreSQL stopped reading it: Aborted()").replace(/\.+$/, '');
  return new AppError(
    'DB_DAMAGED',
    `the local database ${dataDir} is damaged (${why}).\n` +
      `Everything in it comes from the bucket's snapshots: rebuild it (the damaged copy is kept aside):\n  ${rebuildHint(dataDir)}`,
    { cause, details: { dataDir } },
  );
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

async function closeWithin(db: DatabaseConnection, ms: number): Promise<void> {
  await withTimeout(db.close(), ms, 'close').catch(() => undefined);
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new AppError('DB_CONNECTION', what, { details: { openTimedOut: true } })), ms);
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
