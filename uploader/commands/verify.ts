// `aqe-upload verify`: compare the local workspace with the cloud per (source, table): row counts
// and per-row content hashes. Exit 0 when equal, 1 with differences.

import type { Command } from 'commander';
import { AppError } from '../../schema/errors.js';
import { databaseEnvironments, unknownEnvironmentNote } from '../ops/environments.js';
import { verifyWorkspace } from '../ops/verify-workspace.js';
import { withOpsDatabase, withOpsDatabaseOptions } from '../ops/ops-database.js';
import { renderVerify } from '../ui/ops-report.js';
import type { CliCommand } from './command.js';
import { commandConfig } from './shared.js';

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export const verifyCommand: CliCommand = {
  name: 'verify',
  define: (cmd: Command) =>
    withOpsDatabaseOptions(
      cmd
        .description('compare the local workspace with the cloud per (source, table): counts and per-row content hashes; exit 0 when equal, 1 with differences')
        .option('--env <name>', 'the environment the workspace pushes as (default: $AQE_ENV, the config file, the one the workspace remembers, else "local")')
        .option('--details', 'list the keys of missing, extra and different rows')
        .option('--source <id>', 'only this source (repeatable, or comma-separated)', list)
        .option('--table <name>', 'only this target table (repeatable, or comma-separated)', list),
    ),
  async run(opts, io) {
    const config = await commandConfig(opts, io);
    const result = await withOpsDatabase(opts, io, async (db) => {
      const known = await databaseEnvironments(db);
      const unknown = unknownEnvironmentNote(config.env, known, db.description);
      if (unknown !== null) {
        const example = known[0] !== undefined ? `aqe-upload verify --workspace ${config.workspace} --env ${known[0]}` : `aqe-upload push --workspace ${config.workspace} --env laptop`;
        throw new AppError('USAGE', `nothing to compare: ${unknown}\nTry: ${example}`);
      }
      return verifyWorkspace({
        config,
        db,
        details: opts['details'] === true,
        ...(opts['source'] ? { sourceIds: opts['source'] as string[] } : {}),
        ...(opts['table'] ? { tables: opts['table'] as string[] } : {}),
      });
    });
    io.stdout.write(opts['json'] === true ? `${JSON.stringify(result, null, 2)}\n` : renderVerify(result));
    if (!result.equal) return 'failure';
    return result.problems.length > 0 ? 'partial' : 'ok';
  },
};
