// The one rule for the database a command uses: --database, else AQE_DATABASE_URL, else the
// workspace's embedded PGlite folder (<workspace>/.aqe-sync/db). Pure; the URL is checked here.

import { join } from 'node:path';
import { parseDatabaseUrl } from '../../functions/db/open-database.js';
import { CLI_ENV } from './env-settings.js';

/** The embedded database's folder inside a workspace. */
export const WORKSPACE_DB_DIR = join('.aqe-sync', 'db');

/** The embedded database of a workspace: pglite://<workspace>/.aqe-sync/db */
export function defaultDatabaseUrl(workspace: string): string {
  return `pglite://${join(workspace, WORKSPACE_DB_DIR)}`;
}

/** The database a command uses and where that came from (`default`: the workspace's embedded one). */
export interface DatabaseSetting {
  url: string;
  origin: 'flag' | 'env' | 'default';
}

/**
 * --database, else AQE_DATABASE_URL (already checked by the settings), else the workspace default;
 * a problem line for a URL that is neither postgres:// nor pglite://.
 * @example chooseDatabase(undefined, undefined, '/ws') // { value: { url: 'pglite:///ws/.aqe-sync/db', origin: 'default' }, problem: null }
 */
export function chooseDatabase(flag: string | undefined, fromEnv: string | undefined, workspace: string): { value: DatabaseSetting; problem: string | null } {
  const given = flag?.trim() ? { url: flag.trim(), origin: 'flag' as const } : fromEnv?.trim() ? { url: fromEnv.trim(), origin: 'env' as const } : null;
  if (given === null) return { value: { url: defaultDatabaseUrl(workspace), origin: 'default' }, problem: null };
  try {
    parseDatabaseUrl(given.url);
    return { value: given, problem: null };
  } catch (err) {
    return { value: { url: defaultDatabaseUrl(workspace), origin: 'default' }, problem: `${given.origin === 'flag' ? '--database' : CLI_ENV.databaseUrl}: ${err instanceof Error ? err.message : String(err)}` };
  }
}
