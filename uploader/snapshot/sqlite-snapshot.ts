// SQLite sources: a consistent copy taken while other processes keep committing, and the table
// inventory (discovered tables, row counts, schema fingerprint) read from a database file.
// Sources are opened read-only and their journal mode is never touched.

import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, fstatSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { copyFile, type FileHandle, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeScratchDirSync } from '../../functions/runtime/scratch-dir.js';
import type { ErrorCode } from '../../schema/errors.js';
import { AppError } from '../../schema/errors.js';
import type { TableCount } from '../../schema/snapshot/manifest.js';

/** What a SQLite file holds, as the manifest records it. */
export interface SqliteInventory {
  /** User tables (no sqlite_* internals, no virtual tables or their FTS shadow tables), by name. */
  tables: TableCount[];
  /** sha256 of the sorted `table.column type` list. */
  schemaFingerprint: string;
  journalMode: string;
}

/**
 * Copies the database at `sourcePath` (with what its -wal holds) to a new file `destPath`, as one
 * point in time. The copy is what a push hashes, cuts and stores, byte for byte what SQLite's
 * backup API would write, by the cheapest way that is still consistent:
 * - a WAL database the tool closed cleanly (no -wal, no -shm): the file copied while it did not
 *   change (readableInPlace) holds every commit: that copy is the snapshot;
 * - a rollback-journal database: the file copied while a read transaction holds its SHARED lock
 *   (no writer can change the file meanwhile); the copy is read through a file handle kept open
 *   until SQLite has let go of its lock (closing another handle on the file would drop SQLite's
 *   POSIX locks);
 * - otherwise (a live WAL database: its newest pages are in the -wal) SQLite's backup API in ONE
 *   step: the default 100-page steps restart on every commit of another process and never finish
 *   under a busy writer (DESIGN.md §4).
 * Either file copy then gets the two header fields the backup API rewrites (the change counter and
 * "version valid for" both 1), so every way gives the same bytes and an unchanged database the
 * same chunks. A copy whose header does not describe it (a legacy writer) is taken by backup.
 * @example await copySqliteConsistently('/ws/v3/.agentic-qe/memory.db', '/tmp/x/0.db')
 */
export async function copySqliteConsistently(sourcePath: string, destPath: string, label = sourcePath): Promise<void> {
  const readable = readableInPlace(sourcePath, label);
  try {
    if (readable.standalone && normaliseHeader(readable.path)) {
      // our scratch copy: moved into place, or copied where a rename cannot go
      await rename(readable.path, destPath).catch(() => copyFile(readable.path, destPath));
      return;
    }
    if (!readable.standalone && !isWalDatabase(readable.path)) {
      if (await copyUnderReadLock(readable.path, destPath, label)) return;
      await rm(destPath, { force: true });
    }
    await backupCopy(readable.path, destPath, label);
  } finally {
    readable.done();
  }
}

/** SQLite's backup API, in one step (see copySqliteConsistently). */
async function backupCopy(sourcePath: string, destPath: string, label: string): Promise<void> {
  const db = openReadOnly(sourcePath, label);
  try {
    await db.backup(destPath, { progress: () => 1_000_000_000 });
    // a source locked by another process (an exclusive lock held past the busy timeout) ends the
    // backup without an error and without a copy: say so, not "ENOENT" on the temp copy
    if (!existsSync(destPath)) throw lockedError(label);
  } catch (err) {
    throw sqliteError(err, label, 'copy');
  } finally {
    db.close();
  }
}

/** A source another process kept locked past the busy timeout (its exclusive lock: a write in progress). */
function lockedError(label: string): AppError {
  return new AppError('SNAPSHOT_FAILED', `${label}: cannot copy the SQLite database: another process holds an exclusive lock on it (it stayed locked for 5 s); run again in a moment, or when the tool writing it is idle`, {
    transient: true,
    details: { sqliteCode: 'SQLITE_BUSY' },
  });
}

/** Bytes copied at once by copyUnderReadLock. */
const COPY_BYTES = 4 * 1024 * 1024;

/**
 * Copies a rollback-journal database file while a read transaction holds its SHARED lock. false
 * when the database turned out to be in WAL mode (then the caller takes a backup).
 */
async function copyUnderReadLock(sourcePath: string, destPath: string, label: string): Promise<boolean> {
  const db = openReadOnly(sourcePath, label);
  let source: FileHandle | null = null;
  try {
    try {
      db.exec('BEGIN');
      // the first read takes the SHARED lock (waiting out a writer's lock, rolling back nothing:
      // a hot journal fails here as it would in a backup)
      db.prepare('SELECT COUNT(*) FROM sqlite_schema').get();
      if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal') return false;
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
      throw code.startsWith('SQLITE_BUSY') ? lockedError(label) : sqliteError(err, label, 'copy');
    }
    source = await open(sourcePath, 'r');
    const dest = await open(destPath, 'wx');
    try {
      const buffer = Buffer.allocUnsafe(COPY_BYTES);
      for (let at = 0; ; ) {
        const { bytesRead } = await source.read(buffer, 0, buffer.length, at);
        if (bytesRead === 0) break;
        await dest.write(buffer, 0, bytesRead, at);
        at += bytesRead;
      }
    } finally {
      await dest.close();
    }
    db.exec('COMMIT');
  } finally {
    db.close();
    // only now: closing a handle on the file drops every POSIX lock this process holds on it
    await source?.close();
  }
  return normaliseHeader(destPath);
}

/**
 * Sets the change counter (offset 24) and "version valid for" (offset 92) of a copied database
 * file to 1, as SQLite's backup API does for its copy. Only when the header describes the file
 * (both fields equal, and the in-header page count times the page size is the file's size: "SQLite
 * Database File Format" §1.3); false otherwise (nothing is changed).
 */
function normaliseHeader(path: string): boolean {
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const head = Buffer.alloc(100);
    if (readSync(fd, head, 0, 100, 0) !== 100) return false;
    const rawPageSize = head.readUInt16BE(16);
    const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
    const counter = head.readUInt32BE(24);
    if (counter !== head.readUInt32BE(92) || head.readUInt32BE(28) * pageSize !== size) return false;
    const one = Buffer.alloc(4);
    one.writeUInt32BE(1, 0);
    writeSync(fd, one, 0, 4, 24);
    writeSync(fd, one, 0, 4, 92);
    return true;
  } finally {
    closeSync(fd);
  }
}

/**
 * A path to open `path` read-only without leaving anything in the user's workspace. A read-only
 * connection to a WAL database creates `-wal` and `-shm` beside it and cannot remove them on
 * close; where the tool left neither (it closed cleanly), the main file holds every commit, so a
 * copy of it in a scratch folder is read instead (copied again if a writer changed it meanwhile;
 * if a writer keeps it busy, its own -wal/-shm are there and the file is read in place). A WAL
 * file left without its -shm (the tool crashed) is copied with its -wal. Otherwise (rollback
 * journal, or a live WAL database with both files) the file is read in place. `standalone`: the
 * path is a scratch copy that holds the whole database by itself (no -wal beside it).
 */
export function readableInPlace(path: string, label = path): { path: string; done: () => void; standalone: boolean } {
  const inPlace = { path, done: () => undefined, standalone: false };
  if (!isWalDatabase(path)) return inPlace;
  const hasWal = existsSync(`${path}-wal`);
  if (hasWal && existsSync(`${path}-shm`)) return inPlace;
  const dir = makeScratchDirSync('upload');
  const done = () => rmSync(dir, { recursive: true, force: true });
  try {
    const copy = join(dir, 'source.db');
    for (let attempt = 1; attempt <= 3; attempt++) {
      const before = statSync(path);
      copyFileSync(path, copy);
      if (hasWal) copyFileSync(`${path}-wal`, `${copy}-wal`);
      const after = statSync(path);
      const walAppeared = !hasWal && existsSync(`${path}-wal`);
      // without a -wal, the copy alone holds every commit (standalone: the caller may keep it)
      if (before.size === after.size && before.mtimeMs === after.mtimeMs && !walAppeared) return { path: copy, done, standalone: !hasWal };
      // a writer started: its -wal/-shm now exist, so reading in place leaves nothing of ours
      if (walAppeared && existsSync(`${path}-shm`)) {
        done();
        return inPlace;
      }
    }
    throw new AppError('SNAPSHOT_FAILED', `${label}: the database kept changing while being read; run again in a moment`, { transient: true });
  } catch (err) {
    done();
    if (err instanceof AppError) throw err;
    throw sqliteError(err, label, 'read');
  }
}

/** true for a database file in WAL mode (file format bytes 18 and 19 are 2: "SQLite Database File Format" §1.3). */
function isWalDatabase(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(20);
    return readSync(fd, head, 0, 20, 0) === 20 && head[18] === 2 && head[19] === 2;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Tables, row counts and schema fingerprint of a database file, read in one read transaction.
 * With `check`, runs `PRAGMA quick_check` first and fails with SOURCE_CORRUPT when it is not "ok".
 * `rowsOf` gives a table's rows from its root page where known (else COUNT(*)).
 * A workspace file is read without leaving -wal/-shm files beside it (readableInPlace); `ourCopy`
 * says the file is a scratch copy of ours, read where it is.
 */
export function readSqliteInventory(path: string, options: { check?: boolean; label?: string; ourCopy?: boolean; rowsOf?: RowsOf } = {}): SqliteInventory {
  const label = options.label ?? path;
  // a copy of ours (in a scratch folder) is read where it is; a workspace file never leaves -wal/-shm
  if (options.ourCopy) return readInventory(path, label, options.check === true, options.rowsOf);
  const readable = readableInPlace(path, label);
  try {
    return readInventory(readable.path, label, options.check === true, options.rowsOf);
  } finally {
    readable.done();
  }
}

/** The integrity check a push runs on every SQLite copy (at most 5 problems listed). */
export const QUICK_CHECK_SQL = 'PRAGMA quick_check(5)';

/**
 * Throws SOURCE_CORRUPT unless `rows` (what QUICK_CHECK_SQL returned, on this thread or another)
 * is the single row "ok".
 */
export function assertQuickCheck(rows: readonly string[], label: string): void {
  if (rows.length !== 1 || rows[0] !== 'ok') {
    throw new AppError('SOURCE_CORRUPT', `${label}: the SQLite database is damaged (${rows.slice(0, 3).join('; ')}); restore it from a backup or run "sqlite3 <file> .recover", or disable the source`);
  }
}

/** Rows of the b-tree at a root page, known without SQL (sqlite-page-census.ts), or null. */
export type RowsOf = (rootPage: number) => number | null;

function readInventory(path: string, label: string, check: boolean, rowsOf: RowsOf | undefined): SqliteInventory {
  const db = openReadOnly(path, label);
  try {
    return db.transaction(() => {
      if (check) assertQuickCheck(db.prepare(QUICK_CHECK_SQL).pluck().all() as string[], label);
      const names = (db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").pluck().all() as string[]).sort();
      const roots = new Map((db.prepare("SELECT name, rootpage FROM sqlite_schema WHERE type = 'table'").raw().all() as Array<[string, number]>).map(([n, r]) => [n, r]));
      const lines: string[] = [];
      const tables: TableCount[] = [];
      for (const name of names) {
        const cols = db.prepare('SELECT name, type FROM pragma_table_info(?)').all(name) as Array<{ name: string; type: string }>;
        for (const c of cols) lines.push(`${name}.${c.name} ${c.type.toUpperCase()}`);
        const root = roots.get(name);
        const known = root === undefined || rowsOf === undefined ? null : rowsOf(root);
        const rows = known ?? (db.prepare(`SELECT COUNT(*) FROM ${quoteIdent(name)}`).pluck().get() as number | bigint);
        tables.push({ name, rows: Number(rows) });
      }
      lines.sort();
      const journalMode = String(db.pragma('journal_mode', { simple: true }));
      return { tables, schemaFingerprint: createHash('sha256').update(lines.join('\n')).digest('hex'), journalMode };
    })();
  } catch (err) {
    throw sqliteError(err, label, 'read');
  } finally {
    db.close();
  }
}

function openReadOnly(path: string, label: string): Database.Database {
  try {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    // A writer may hold a lock for a moment; wait rather than fail.
    db.pragma('busy_timeout = 5000');
    return db;
  } catch (err) {
    throw sqliteError(err, label, 'open');
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** An error of SQLite's (anything with its `code`) as an AppError that names the file and says what to do. */
export function sqliteError(err: unknown, label: string, action: 'open' | 'copy' | 'read'): AppError {
  if (err instanceof AppError) return err;
  const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
  const message = err instanceof Error ? err.message : String(err);
  let appCode: ErrorCode = 'SNAPSHOT_FAILED';
  let advice = 'run again; if it keeps failing, check the file with "sqlite3 <file> .dbinfo"';
  let transient = false;
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_IOERR_SHORT_READ') {
    appCode = 'SOURCE_CORRUPT';
    advice = 'the file is damaged or truncated: restore it from a backup or run "sqlite3 <file> .recover", or disable the source';
  } else if (code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM') || code.startsWith('SQLITE_AUTH') || code === 'SQLITE_READONLY') {
    appCode = 'SOURCE_UNREADABLE';
    advice = 'make the file (and its folder, for the -wal/-shm files) readable by this user';
  } else if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    transient = true;
    advice = 'another process holds a lock on it; run again in a moment';
  }
  return new AppError(appCode, `${label}: cannot ${action} the SQLite database (${message}); ${advice}`, { cause: err, transient, details: { sqliteCode: code } });
}
