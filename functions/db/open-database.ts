// Opens a Database from a URL: postgres:// and postgresql:// → PgDatabase (a server);
// pglite://memory → in-memory PGlite; pglite://<dir> → persistent PGlite in <dir>. Migrated, it is
// a Database carrying its dialect (openMigratedDatabase).
import type { Database, DatabaseConnection } from './database.js';
import { ensureMigrated } from './migrate.js';
import type { PgDatabaseOptions } from './pg-database.js';
import { AppError } from '../../schema/errors.js';

export interface OpenDatabaseOptions {
  pg?: PgDatabaseOptions;
  /** PGlite: load pgvector (default true). */
  vector?: boolean;
}

/** Where a database URL points, without opening it. */
export type DatabaseTarget = { kind: 'pg'; url: string } | { kind: 'pglite'; dataDir: string | undefined };

/**
 * Parses a database URL.
 *
 * @example parseDatabaseUrl('pglite://memory') → { kind: 'pglite', dataDir: undefined }
 * @example parseDatabaseUrl('pglite:///var/lib/aqe/db') → { kind: 'pglite', dataDir: '/var/lib/aqe/db' }
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: 'pg', url };
  const m = /^pglite:\/\/(.*)$/i.exec(url);
  if (m) {
    const rest = m[1] ?? '';
    if (rest === '') {
      throw new AppError('CONFIG_INVALID', 'database URL "pglite://": expected pglite://memory or pglite://<directory>, e.g. pglite://./.aqe/db');
    }
    return { kind: 'pglite', dataDir: rest === 'memory' ? undefined : rest };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  throw new AppError(
    'CONFIG_INVALID',
    `database URL: expected postgres://…, postgresql://…, pglite://memory or pglite://<directory>, got ${scheme ? `a "${scheme}:" URL` : 'a value without a scheme'}`,
  );
}

/** Opens the database `url` points to (see parseDatabaseUrl), not yet migrated. Close it when done. */
export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<DatabaseConnection> {
  const target = parseDatabaseUrl(url);
  // each driver is loaded only when used: PGlite (PostgreSQL in wasm) costs ~45 MB of memory to
  // import and pg ~14 MB, and a push (which reads this module through the configuration) never
  // opens a database
  if (target.kind === 'pg') {
    const { PgDatabase } = await import('./pg-database.js');
    return new PgDatabase(target.url, options.pg);
  }
  const { PgliteDatabase } = await import('./pglite-database.js');
  return PgliteDatabase.open({ ...(target.dataDir ? { dataDir: target.dataDir } : {}), ...(options.vector === false ? { vector: false } : {}) });
}

/**
 * Opens the database `url` points to, migrates it (once per process: migrate.ts ensureMigrated)
 * and returns it carrying its dialect. Closed again when the migration fails. Close it when done.
 * @example const db = await openMigratedDatabase('pglite://memory'); db.dialect.dialect // 'pgvector'
 */
export async function openMigratedDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  const connection = await openDatabase(url, options);
  try {
    return await ensureMigrated(connection);
  } catch (err) {
    await connection.close().catch(() => undefined);
    throw err;
  }
}
