// `aqe-upload rollback --env E (--run ID | --last N) [--dry-run]`: restore the pre-images the loader
// recorded, in one transaction, mark the runs rolled back, and report what changed.

import type { Command } from 'commander';
import { z } from 'zod';
import { rollbackRuns } from '../../functions/ops/rollback.js';
import { AppError } from '../../schema/errors.js';
import { withDatabase } from '../local/local-sync.js';
import { renderRollback } from '../ui/ops-report.js';
import { databaseEnvironments, unknownEnvironmentNote } from '../ops/environments.js';
import { defineCommand } from './command.js';
import { DATABASE_FLAGS, withDatabaseOptions } from './database-option.js';
import { collect, parsed, text, toggle, usage } from './flags.js';
import { IAP_FLAGS } from './iap-option.js';
import { commandDatabaseUrl } from './shared.js';

const TRY = 'Try: aqe-upload rollback --env laptop --last 1 --dry-run';

export const rollbackCommand = defineCommand({
  name: 'rollback',
  flags: z.object({
    ...DATABASE_FLAGS,
    ...IAP_FLAGS.shape,
    env: text(),
    run: z
      .array(z.string())
      .optional()
      .transform((runs, ctx) =>
        (runs ?? []).flatMap((r) => {
          if (/^\d+$/.test(r)) return [Number(r)];
          ctx.addIssue({ code: 'custom', message: `--run ${r}: expected a run id (a whole number)` });
          return [];
        }),
      ),
    last: parsed((v) => (/^\d+$/.test(v) ? Number(v) : usage(`--last ${v}: expected a whole number >= 1`, TRY.slice('Try: '.length)))),
    dryRun: toggle(),
  }),
  example: TRY.slice('Try: '.length),
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('undo loads of one environment: restore the rows they changed, delete the rows they inserted, in one transaction')
        .option('--env <name>', 'the environment whose runs are rolled back (required)')
        .option('--run <id>', 'a run id (repeatable; see aqe-upload status)', collect)
        .option('--last <n>', 'the last N succeeded runs of the environment')
        .option('--dry-run', 'report what would change; change nothing'),
    ),
  async run(flags, config, io) {
    const env = flags.env;
    if (!env) throw new AppError('USAGE', `rollback needs --env\n${TRY}`);
    const runIds = flags.run;
    const last = flags.last;
    if ((runIds.length > 0) === (last !== undefined)) throw new AppError('USAGE', `rollback needs either --run <id> or --last <n> (not both)\n${TRY}`);
    const report = await withDatabase(commandDatabaseUrl(flags, config), async (db) => {
      const known = await databaseEnvironments(db);
      const unknown = unknownEnvironmentNote(env, known, db.description);
      if (unknown !== null) throw new AppError('USAGE', `nothing to roll back: ${unknown}\nTry: aqe-upload rollback --env ${known[0] ?? 'laptop'} --last 1 --dry-run`);
      return rollbackRuns(db, { env, ...(runIds.length > 0 ? { runIds } : { last: last! }), dryRun: flags.dryRun });
    });
    io.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderRollback(report, reapplyFlags(flags)));
    return 'ok';
  },
});

/** The flags that point a `load` at the same workspace and database (never a password). */
function reapplyFlags(given: { workspace?: string | undefined; database?: string | undefined; iap?: string | undefined; iapZone?: string | undefined; iapProject?: string | undefined }): string {
  const flags: string[] = [];
  const { workspace, database, iap } = given;
  if (workspace) flags.push(`--workspace ${workspace}`);
  if (iap !== undefined) {
    flags.push(`--iap ${iap}`);
    if (given.iapZone) flags.push(`--iap-zone ${given.iapZone}`);
    if (given.iapProject) flags.push(`--iap-project ${given.iapProject}`);
  } else if (database) flags.push(`--database ${/:\/\/[^/@]*:[^/@]*@/.test(database) ? "'<your --database URL>'" : database}`);
  return flags.map((f) => ` ${f}`).join('');
}
