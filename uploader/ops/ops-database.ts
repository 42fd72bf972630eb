// How the operator commands reach their database: --database / AQE_DATABASE_URL / the workspace's
// embedded PGlite (database-option.ts). --iap <instance> needs nothing here: it is added to every
// command that takes --database (commands/index.ts), and sets --database to a URL through a tunnel
// opened for the duration of the command.

import type { Command } from 'commander';
import type { Database } from '../../functions/db/database.js';
import type { VectorDialect } from '../../functions/db/dialect.js';
import type { CliIo } from '../commands/command.js';
import { resolveDatabaseUrl, withDatabaseOptions } from '../commands/database-option.js';
import { withDatabase } from '../local/local-sync.js';

/** --database and --workspace (and, through commands/index.ts, the --iap options). */
export function withOpsDatabaseOptions(cmd: Command): Command {
  return withDatabaseOptions(cmd);
}

/** Runs `fn` with the command's open, migrated database, always closing it. */
export function withOpsDatabase<T>(opts: Record<string, unknown>, io: CliIo, fn: (db: Database, dialect: VectorDialect) => Promise<T>): Promise<T> {
  return withDatabase(resolveDatabaseUrl(opts, io), fn);
}
