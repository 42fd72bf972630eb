// The database a command talks to: --database, else AQE_DATABASE_URL, else the workspace's
// embedded PGlite database (--workspace, else AQE_WORKSPACE, else the current folder). With
// --iap <instance>, --database is set to a URL through a tunnel before the command runs
// (uploader/iap/with-iap-tunnel.ts, applied to every command with --database in index.ts).

import { resolveWorkspace } from '../config.js';
import { defaultDatabaseUrl } from '../local/local-sync.js';
import type { CliIo } from './command.js';
import { stringOpt } from './command.js';

export function resolveDatabaseUrl(opts: Record<string, unknown>, io: CliIo): string {
  const explicit = stringOpt(opts, 'database') ?? io.env['AQE_DATABASE_URL'];
  if (explicit) return explicit;
  return defaultDatabaseUrl(resolveWorkspace({ workspace: stringOpt(opts, 'workspace') }, io.env, io.cwd));
}

/** Adds --database and --workspace to a command that reads the database. */
export function withDatabaseOptions(cmd: import('commander').Command): import('commander').Command {
  return cmd
    .option('--database <url>', 'postgres://… or pglite://<dir> (default: $AQE_DATABASE_URL, else <workspace>/.aqe-sync/db); for the cloud database see --iap')
    .option('-w, --workspace <dir>', 'workspace whose embedded database is the default (default: $AQE_WORKSPACE, else the current folder)');
}
