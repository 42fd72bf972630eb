// `aqe-upload rollback --env E (--run ID | --last N) [--dry-run]`: restore the pre-images the loader
// recorded, in one transaction, mark the runs rolled back, and report what changed.

import type { Command } from 'commander';
import { rollbackRuns } from '../../functions/ops/rollback.js';
import { AppError } from '../../schema/errors.js';
import { withOpsDatabase, withOpsDatabaseOptions } from '../ops/ops-database.js';
import { renderRollback } from '../ui/ops-report.js';
import { databaseEnvironments, unknownEnvironmentNote } from '../ops/environments.js';
import type { CliCommand } from './command.js';
import { stringOpt } from './command.js';

const TRY = 'Try: aqe-upload rollback --env laptop --last 1 --dry-run';

export const rollbackCommand: CliCommand = {
  name: 'rollback',
  define: (cmd: Command) =>
    withOpsDatabaseOptions(
      cmd
        .description('undo loads of one environment: restore the rows they changed, delete the rows they inserted, in one transaction')
        .option('--env <name>', 'the environment whose runs are rolled back (required)')
        .option('--run <id>', 'a run id (repeatable; see aqe-upload status)', (v: string, prev: string[] = []) => [...prev, v])
        .option('--last <n>', 'the last N succeeded runs of the environment')
        .option('--dry-run', 'report what would change; change nothing'),
    ),
  async run(opts, io) {
    const env = stringOpt(opts, 'env');
    if (!env) throw new AppError('USAGE', `rollback needs --env\n${TRY}`);
    const runs = (opts['run'] as string[] | undefined) ?? [];
    const last = stringOpt(opts, 'last');
    if ((runs.length > 0) === (last !== undefined)) throw new AppError('USAGE', `rollback needs either --run <id> or --last <n> (not both)\n${TRY}`);
    const runIds = runs.map((r) => {
      if (!/^\d+$/.test(r)) throw new AppError('USAGE', `--run ${r}: expected a run id (a whole number)\n${TRY}`);
      return Number(r);
    });
    if (last !== undefined && !/^\d+$/.test(last)) throw new AppError('USAGE', `--last ${last}: expected a whole number >= 1\n${TRY}`);
    const report = await withOpsDatabase(opts, io, async (db) => {
      const known = await databaseEnvironments(db);
      const unknown = unknownEnvironmentNote(env, known, db.description);
      if (unknown !== null) throw new AppError('USAGE', `nothing to roll back: ${unknown}\nTry: aqe-upload rollback --env ${known[0] ?? 'laptop'} --last 1 --dry-run`);
      return rollbackRuns(db, { env, ...(runIds.length > 0 ? { runIds } : { last: Number(last) }), dryRun: opts['dryRun'] === true });
    });
    io.stdout.write(opts['json'] === true ? `${JSON.stringify(report, null, 2)}\n` : renderRollback(report, reapplyFlags(opts)));
    return 'ok';
  },
};

/** The flags that point a `load` at the same workspace and database (never a password). */
function reapplyFlags(opts: Record<string, unknown>): string {
  const flags: string[] = [];
  const workspace = stringOpt(opts, 'workspace');
  const database = stringOpt(opts, 'database');
  if (workspace) flags.push(`--workspace ${workspace}`);
  const iap = stringOpt(opts, 'iap');
  if (iap !== undefined) {
    flags.push(`--iap ${iap}`);
    for (const [key, flag] of [['iapZone', '--iap-zone'], ['iapProject', '--iap-project']] as const) if (stringOpt(opts, key)) flags.push(`${flag} ${stringOpt(opts, key)}`);
  } else if (database) flags.push(`--database ${/:\/\/[^/@]*:[^/@]*@/.test(database) ? "'<your --database URL>'" : database}`);
  return flags.map((f) => ` ${f}`).join('');
}
