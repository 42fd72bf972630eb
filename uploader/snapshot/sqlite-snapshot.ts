// SQLite sources: a consistent copy taken while other processes keep committing, and the table
// inventory (discovered tables, row counts, schema fingerprint) read from a database file.
// Sources are opened read-only and their journal mode is never touched.

import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
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
 * Copies the database at `sourcePath` (with what its -wal holds) to a new file `destPath` in ONE
 * backup step: the default 100-page steps restart on every commit of another process and never
 * finish under a busy writer (DESIGN.md §4). The copy is one point in time.
 * @example await copySqliteConsistently('/ws/v3/.agentic-qe/memory.db', '/tmp/x/0.db')
 */
export async function copySqliteConsistently(sourcePath: string, destPath: string, label = sourcePath): Promise<void> {
  const db = openReadOnly(sourcePath, label);
  try {
    await db.backup(destPath, { progress: () => 1_000_000_000 });
  } catch (err) {
    throw sqliteError(err, label, 'copy');
  } finally {
    db.close();
  }
}

/**
 * Tables, row counts and schema fingerprint of a database file, read in one read transaction.
 * With `check`, runs `PRAGMA quick_check` first and fails with SOURCE_CORRUPT when it is not "ok".
 */
export function readSqliteInventory(path: string, options: { check?: boolean; label?: string } = {}): SqliteInventory {
  const label = options.label ?? path;
  const db = openReadOnly(path, label);
  try {
    return db.transaction(() => {
      if (options.check) {
        const rows = db.prepare('PRAGMA quick_check(5)').pluck().all() as string[];
        if (rows.length !== 1 || rows[0] !== 'ok') {
          throw new AppError('SOURCE_CORRUPT', `${label}: the SQLite database is damaged (${rows.slice(0, 3).join('; ')}); restore it from a backup or run "sqlite3 <file> .recover", or disable the source`);
        }
      }
      const names = (db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").pluck().all() as string[]).sort();
      const lines: string[] = [];
      const tables: TableCount[] = [];
      for (const name of names) {
        const cols = db.prepare('SELECT name, type FROM pragma_table_info(?)').all(name) as Array<{ name: string; type: string }>;
        for (const c of cols) lines.push(`${name}.${c.name} ${c.type.toUpperCase()}`);
        const rows = db.prepare(`SELECT COUNT(*) FROM ${quoteIdent(name)}`).pluck().get() as number | bigint;
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

function sqliteError(err: unknown, label: string, action: 'open' | 'copy' | 'read'): AppError {
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
