// --database and --workspace for the commands that read a database (the URL is chosen by the one
// rule of config/database-url.ts, through shared.ts). With --iap <instance>, --database is set to
// a URL through a tunnel before the command runs (iap-option.ts, applied in index.ts).

import type { Command } from 'commander';
import { text } from './flags.js';

/** The flags withDatabaseOptions adds, for a command's schema. */
export const DATABASE_FLAGS = { database: text(), workspace: text() };

/** Adds --database and --workspace to a command that reads the database. */
export function withDatabaseOptions(cmd: Command): Command {
  return cmd
    .option('--database <url>', 'postgres://… or pglite://<dir> (default: $AQE_DATABASE_URL, else <workspace>/.aqe-sync/db); for the cloud database see --iap')
    .option('-w, --workspace <dir>', 'workspace whose embedded database is the default (default: $AQE_WORKSPACE, else the current folder)');
}
