// One owner of an embedded (PGlite) database folder at a time, across processes. PGlite is a whole
// PostgreSQL inside one process: two processes on one folder overwrite each other's catalog.
//
// The lock is an OS file lock: an exclusive SQLite transaction (better-sqlite3) on `<folder>.lock`,
// i.e. fcntl byte-range locks the kernel drops when the process ends, however it ends (kill -9
// included), so a lock can never be left stuck, and never expires while its holder lives (a
// holder busy for minutes inside PGlite's WASM keeps it). Beside it, `<folder>.lock.json` names the
// holder (command, pid) for the "waiting for …" line; that file is information only, never the lock.

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import Sqlite from 'better-sqlite3';
import { AppError, errorMessage } from '../../schema/errors.js';
import { CLI_ENV } from '../config/env-settings.js';

/** Who holds (or last held) a database folder's lock. */
export interface LockHolder {
  pid: number;
  /** e.g. `aqe-upload watch` */
  command: string;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

export interface DatabaseLockOptions {
  /** This process's label for other waiters, e.g. `aqe-upload search`. */
  owner: string;
  /** Give up after this long (0: try once). */
  timeoutMs: number;
  /** Called when the lock is busy: once at first, and again whenever the holder changes. */
  onWait?: (holder: LockHolder | null) => void;
  /** Aborting stops the wait (AppError USAGE-free 'DB_LOCKED', not transient). */
  signal?: AbortSignal;
  /** Time between attempts (default 50 ms, with jitter). */
  pollMs?: number;
  /** How to name the variable that sets the timeout, for the message. */
  timeoutSetting?: string;
}

/** A held lock; `release()` is idempotent. */
export interface HeldLock {
  readonly waitedMs: number;
  release(): Promise<void>;
}

/** The lock file of a database folder (beside it, so a rebuild can move the folder away while holding it). */
export function lockFileOf(dataDir: string): string {
  return `${resolve(dataDir)}.lock`;
}

function ownerFileOf(dataDir: string): string {
  return `${lockFileOf(dataDir)}.json`;
}

// Holders inside this process, in order: a second open of the same folder in this process waits
// its turn here instead of polling against itself.
const inProcess = new Map<string, Promise<void>>();

/**
 * Takes the lock of `dataDir` (waiting up to `timeoutMs`); release it when done.
 * @throws AppError DB_LOCKED after the timeout or when `signal` aborts, naming the holder.
 * @example const lock = await acquireDatabaseLock('/ws/.aqe-sync/db', { owner: 'aqe-upload status', timeoutMs: 120_000 }); try { … } finally { await lock.release(); }
 */
export async function acquireDatabaseLock(dataDir: string, options: DatabaseLockOptions): Promise<HeldLock> {
  const lockFile = lockFileOf(dataDir);
  const started = performance.now();
  const deadline = started + options.timeoutMs;

  // Queue behind holders in this process.
  const before = inProcess.get(lockFile) ?? Promise.resolve();
  let releaseTurn!: () => void;
  const turn = new Promise<void>((r) => (releaseTurn = r));
  const chained = before.then(() => turn);
  inProcess.set(lockFile, chained);
  const leaveQueue = () => {
    releaseTurn();
    if (inProcess.get(lockFile) === chained) inProcess.delete(lockFile);
  };
  try {
    await waitFor(before, deadline, options.signal, () => lockedError(dataDir, null, options, started));
  } catch (err) {
    leaveQueue();
    throw err;
  }

  let conn: Sqlite.Database;
  try {
    mkdirSync(dirname(lockFile), { recursive: true });
    conn = new Sqlite(lockFile, { timeout: 0 });
  } catch (err) {
    leaveQueue();
    throw new AppError('DB_CONNECTION', `cannot create the lock file ${lockFile} of the local database: ${errorMessage(err)}. Check that ${dirname(lockFile)} is writable.`, { cause: err });
  }
  let lastHolderKey: string | undefined;
  try {
    for (;;) {
      if (tryExclusive(conn)) break;
      const holder = await readHolder(dataDir);
      const key = holder ? `${holder.pid}@${holder.host}` : '';
      if (key !== lastHolderKey) {
        lastHolderKey = key;
        options.onWait?.(holder);
      }
      if (performance.now() >= deadline) throw lockedError(dataDir, holder, options, started);
      const pause = Math.min((options.pollMs ?? 50) * (0.75 + Math.random() / 2), Math.max(1, deadline - performance.now()));
      await waitFor(sleep(pause), deadline + pause, options.signal, () => lockedError(dataDir, holder, options, started));
    }
  } catch (err) {
    conn.close();
    leaveQueue();
    throw err;
  }

  const me: LockHolder = { pid: process.pid, command: options.owner, host: hostname(), since: new Date().toISOString() };
  await writeHolder(dataDir, me).catch(() => undefined); // information only
  const waitedMs = Math.round(performance.now() - started);
  let released = false;
  return {
    waitedMs,
    async release() {
      if (released) return;
      released = true;
      try {
        await rm(ownerFileOf(dataDir), { force: true }).catch(() => undefined);
        conn.exec('ROLLBACK');
      } finally {
        conn.close();
        leaveQueue();
      }
    },
  };
}

/**
 * Who holds the lock of `dataDir` right now, without waiting: null when it is free (or when the
 * holder has not named itself yet). For `doctor` and messages.
 */
export async function probeDatabaseLock(dataDir: string): Promise<{ held: boolean; holder: LockHolder | null }> {
  const lockFile = lockFileOf(dataDir);
  if (inProcess.has(lockFile)) return { held: true, holder: await readHolder(dataDir) };
  let conn: Sqlite.Database;
  try {
    conn = new Sqlite(lockFile, { timeout: 0, fileMustExist: true });
  } catch {
    return { held: false, holder: null };
  }
  try {
    if (tryExclusive(conn)) {
      conn.exec('ROLLBACK');
      return { held: false, holder: null };
    }
    return { held: true, holder: await readHolder(dataDir) };
  } finally {
    conn.close();
  }
}

/** `aqe-upload watch`, pid 4242 (or: another process). */
export function describeHolder(holder: LockHolder | null): string {
  if (holder === null) return 'another process';
  return `\`${holder.command}\`, pid ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`}`;
}

function tryExclusive(conn: Sqlite.Database): boolean {
  try {
    // Rollback-journal mode (a new file's default): EXCLUSIVE takes the write lock at once.
    conn.exec('BEGIN EXCLUSIVE');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_BUSY' || (err as { code?: string }).code === 'SQLITE_LOCKED') return false;
    throw new AppError('DB_CONNECTION', `cannot take the lock ${conn.name}: ${errorMessage(err)}`, { cause: err });
  }
}

function lockedError(dataDir: string, holder: LockHolder | null, options: DatabaseLockOptions, started: number): AppError {
  const waited = Math.round((performance.now() - started) / 1000);
  if (options.signal?.aborted) {
    return new AppError('DB_LOCKED', `stopped while waiting for the local database ${dataDir} (held by ${describeHolder(holder)})`);
  }
  const setting = options.timeoutSetting ?? CLI_ENV.lockTimeout;
  return new AppError(
    'DB_LOCKED',
    `the local database ${dataDir} is still in use by ${describeHolder(holder)} after waiting ${waited} s (the limit, ${setting}=${Math.round(options.timeoutMs / 1000)}).\n` +
      `Run the command again once it is done, or wait longer: ${setting}=${Math.max(300, Math.round((options.timeoutMs * 2) / 1000))} aqe-upload …`,
    { transient: true, details: { dataDir, holder } },
  );
}

async function readHolder(dataDir: string): Promise<LockHolder | null> {
  try {
    const parsed = JSON.parse(await readFile(ownerFileOf(dataDir), 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.command !== 'string') return null;
    const holder: LockHolder = { pid: parsed.pid, command: parsed.command, host: String(parsed.host ?? ''), since: String(parsed.since ?? '') };
    // A name left behind by a holder that is gone (the lock itself went with it) is not the holder.
    if (holder.host === hostname() && !isAlive(holder.pid)) return null;
    return holder;
  } catch {
    return null;
  }
}

async function writeHolder(dataDir: string, holder: LockHolder): Promise<void> {
  const file = ownerFileOf(dataDir);
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(holder)}\n`);
  await rename(tmp, file);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `p`, or the error from `fail` at the deadline or on abort. */
async function waitFor(p: Promise<unknown>, deadline: number, signal: AbortSignal | undefined, fail: () => AppError): Promise<void> {
  if (signal?.aborted) throw fail();
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(fail()), Math.max(0, deadline - performance.now()));
        onAbort = () => reject(fail());
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
