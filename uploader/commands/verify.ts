// `aqe-upload verify`: compare the local workspace with the cloud per (source, table): row counts
// and per-row content hashes. Exit 0 when equal, 1 with differences.

import type { Command } from 'commander';
import { z } from 'zod';
import { AppError } from '../../schema/errors.js';
import { databaseEnvironments, unknownEnvironmentNote } from '../ops/environments.js';
import { verifyWorkspace } from '../ops/verify-workspace.js';
import { withDatabase } from '../local/local-sync.js';
import { renderVerify } from '../ui/ops-report.js';
import { defineCommand } from './command.js';
import { DATABASE_FLAGS, withDatabaseOptions } from './database-option.js';
import { collectList as list, repeated, text, toggle } from './flags.js';
import { workspaceConfig } from './shared.js';

export const verifyCommand = defineCommand({
  name: 'verify',
  flags: z.object({ ...DATABASE_FLAGS, env: text(), details: toggle(), source: repeated(), table: repeated() }),
  example: 'aqe-upload verify --details',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('compare the local workspace with the cloud per (source, table): counts and per-row content hashes; exit 0 when equal, 1 with differences')
        .option('--env <name>', 'the environment the workspace pushes as (default: $AQE_ENV, the config file, the one the workspace remembers, else "local")')
        .option('--details', 'list the keys of missing, extra and different rows')
        .option('--source <id>', 'only this source (repeatable, or comma-separated)', list)
        .option('--table <name>', 'only this target table (repeatable, or comma-separated)', list),
    ),
  async run(flags, cliConfig, io) {
    const config = await workspaceConfig(flags, cliConfig);
    const result = await withDatabase(config.database.url, async (db) => {
      const known = await databaseEnvironments(db);
      const unknown = unknownEnvironmentNote(config.env, known, db.description);
      if (unknown !== null) {
        const example = known[0] !== undefined ? `aqe-upload verify --workspace ${config.workspace} --env ${known[0]}` : `aqe-upload push --workspace ${config.workspace} --env laptop`;
        throw new AppError('USAGE', `nothing to compare: ${unknown}\nTry: ${example}`);
      }
      return verifyWorkspace({
        config,
        db,
        details: flags.details,
        ...(flags.source ? { sourceIds: flags.source } : {}),
        ...(flags.table ? { tables: flags.table } : {}),
      });
    });
    io.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : renderVerify(result));
    if (!result.equal) return 'failure';
    return result.problems.length > 0 ? 'partial' : 'ok';
  },
});
