// `aqe-upload pull [--from-env X|all] [--table …] [--dry-run]`: write patterns learned in other
// environments into the local agentic-qe v3 runtime database (backup first, one transaction,
// the tool's own rows never overwritten, nothing added twice).

import { type Command, Option } from 'commander';
import { AppError } from '../../schema/errors.js';
import { z } from 'zod';
import { DEFAULT_PULL_KEEP_BACKUPS } from '../config/env-settings.js';
import { withDatabase } from '../local/local-sync.js';
import { PULLABLE_TABLES, pullPatterns } from '../ops/pull-patterns.js';
import { renderPull } from '../ui/ops-report.js';
import { defineCommand } from './command.js';
import { DATABASE_FLAGS, withDatabaseOptions } from './database-option.js';
import { collectList, parsed, repeated, text, toggle, usage } from './flags.js';
import { workspaceConfig } from './shared.js';

const TRY = 'aqe-upload pull --from-env devpod --dry-run';

/** --table / --tables: only the tables pull can write. */
function pullTables(flag: string) {
  return repeated().superRefine((tables, ctx) => {
    const unknown = (tables ?? []).filter((t) => !(PULLABLE_TABLES as readonly string[]).includes(t));
    if (unknown.length > 0) ctx.addIssue({ code: 'custom', message: `${flag} ${unknown.join(',')}: pull can write ${PULLABLE_TABLES.join(', ')} only` });
  });
}

export const pullCommand = defineCommand({
  name: 'pull',
  flags: z.object({
    ...DATABASE_FLAGS,
    env: text(),
    fromEnv: repeated(),
    table: pullTables('--table'),
    tables: pullTables('--tables'),
    domain: text(),
    lockTimeout: parsed((v) => (Number(v) >= 0 ? Number(v) : usage(`--lock-timeout ${v}: expected a number of seconds >= 0`, TRY))),
    keepBackups: parsed((v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 1000 ? Number(v) : usage(`--keep-backups: "${v}" is not a backup count; expected a whole number from 1 to 1000 (default ${DEFAULT_PULL_KEEP_BACKUPS})`, TRY))),
    dryRun: toggle(),
  }),
  example: TRY,
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('write patterns learned in other environments (their consensus) into the local v3 runtime database, with provenance')
        .option('--env <name>', 'this workspace\'s environment, never pulled from (default: $AQE_ENV, the config file, else "local")')
        .option('--from-env <name>', 'environment to pull from, repeatable or comma-separated, or "all" (default: all)', collectList)
        .option('--table <name>', `table to pull, repeatable or comma-separated (default and only: ${PULLABLE_TABLES.join(', ')})`, collectList)
        .addOption(new Option('--tables <names>', 'old name of --table').argParser(collectList).hideHelp())
        .option('--domain <d>', 'only patterns of this domain')
        .option('--lock-timeout <seconds>', 'how long to wait for the tool\'s write lock (default 5)')
        .option('--keep-backups <n>', 'backups of the v3 database to keep, newest first (default: $AQE_PULL_KEEP_BACKUPS, else 5)')
        .option('--dry-run', 'show what would be added; write nothing'),
    ),
  async run(flags, cliConfig, io) {
    const config = await workspaceConfig(flags, cliConfig);
    const from = flags.fromEnv ?? ['all'];
    const fromEnvs = from.includes('all') ? null : from;
    if (fromEnvs?.includes(config.env)) throw new AppError('USAGE', `--from-env ${config.env}: that is this workspace's own environment\nTry: ${TRY}`);
    const result = await withDatabase(config.database.url, (db) =>
      pullPatterns({
        db,
        workspace: config.workspace,
        localEnv: config.env,
        fromEnvs,
        dryRun: flags.dryRun,
        keepBackups: flags.keepBackups ?? config.pullKeepBackups,
        ...(flags.domain ? { domain: flags.domain } : {}),
        ...(flags.lockTimeout !== undefined ? { lockTimeoutMs: flags.lockTimeout * 1000 } : {}),
      }),
    );
    io.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : renderPull(result));
    return 'ok';
  },
});
