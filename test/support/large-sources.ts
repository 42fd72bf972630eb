// Test support for benchmarks: large SQLite source files (1M rows, 100 MB, 1 GB) written fast,
// in one transaction through one prepared statement.
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export interface LargeSqliteOptions {
  /** Rows to write (ids 1..rows). */
  rows: number;
  /** Length of each row's `value` text; default 16 (narrow rows). */
  payloadBytes?: number;
  /** Table name; default `large_rows`. */
  table?: string;
  /** Journal mode the finished file is left in; default `wal` (like the tools' files). */
  journal?: 'wal' | 'delete';
}

export interface LargeSqliteResult {
  path: string;
  table: string;
  rows: number;
  /** Size of the finished file in bytes. */
  bytes: number;
}

/**
 * Writes (or appends to) a table `(id INTEGER PRIMARY KEY, key TEXT, value TEXT, created_at INTEGER)`
 * with `rows` rows. Content is deterministic; values are not all alike so the file does not
 * compress to nothing. About 1M narrow rows per ~1.5 s here.
 *
 * @example
 * await writeLargeSqlite(join(tmp, 'big.db'), { rows: rowsForSize(100 * 1024 ** 2, 200), payloadBytes: 200 });
 */
export async function writeLargeSqlite(path: string, options: LargeSqliteOptions): Promise<LargeSqliteResult> {
  const table = options.table ?? 'large_rows';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) throw new Error(`writeLargeSqlite: table "${table}" is not a plain identifier`);
  const payloadBytes = options.payloadBytes ?? 16;
  mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  try {
    // Build without a journal (the file is ours and disposable), then set the journal mode the reader will meet.
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -65536');
    db.exec(`CREATE TABLE IF NOT EXISTS ${table} (id INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT, created_at INTEGER NOT NULL)`);
    const start = (db.prepare(`SELECT COALESCE(MAX(id), 0) AS m FROM ${table}`).get() as { m: number }).m;
    const insert = db.prepare(`INSERT INTO ${table} (id, key, value, created_at) VALUES (?, ?, ?, ?)`);
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 ';
    // A 4 KB pool of varied text; each row takes a slice at a different offset.
    let pool = '';
    let x = 2_463_534_242;
    while (pool.length < 4096 + payloadBytes) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      pool += alphabet[(x >>> 0) % alphabet.length];
    }
    const baseMs = 1_736_121_600_000;
    db.transaction(() => {
      for (let i = 1; i <= options.rows; i++) {
        const id = start + i;
        const off = (id * 7919) % 4096;
        insert.run(id, `key-${id}`, pool.slice(off, off + payloadBytes), baseMs + id * 1000);
      }
    })();
    db.pragma(`journal_mode = ${options.journal === 'delete' ? 'DELETE' : 'WAL'}`);
  } finally {
    db.close();
  }
  return { path, table, rows: options.rows, bytes: statSync(path).size };
}

/** Roughly how many rows of `payloadBytes` make a file of `bytes` (row overhead ~40 bytes). */
export function rowsForSize(bytes: number, payloadBytes = 16): number {
  return Math.max(1, Math.ceil(bytes / (payloadBytes + 40)));
}
