// `aqe-upload pull [--from-env X|all] [--table …] [--dry-run]`: write patterns learned in other
// environments into the local agentic-qe v3 runtime database (backup first, one transaction,
// the tool's own rows never overwritten, nothing added twice).

import { type Command, Option } from 'commander';
import { AppError } from '../../schema/errors.js';
import { withOpsDatabase, withOpsDatabaseOptions } from '../ops/ops-database.js';
import { PULLABLE_TABLES, pullPatterns } from '../ops/pull-patterns.js';
import { renderPull } from '../ui/ops-report.js';
import type { CliCommand } from './command.js';
import { stringOpt } from './command.js';
import { commandConfig } from './shared.js';
import { parsePullKeepBackups } from '../config.js';

const TRY = 'Try: aqe-upload pull --from-env devpod --dry-run';
const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];

export const pullCommand: CliCommand = {
  name: 'pull',
  define: (cmd: Command) =>
    withOpsDatabaseOptions(
      cmd
        .description('write patterns learned in other environments (their consensus) into the local v3 runtime database, with provenance')
        .option('--env <name>', 'this workspace\'s environment, never pulled from (default: $AQE_ENV, the config file, else "local")')
        .option('--from-env <name>', 'environment to pull from, repeatable or comma-separated, or "all" (default: all)', (v: string, prev: string[] = []) => [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)])
        .option('--table <name>', `table to pull, repeatable or comma-separated (default and only: ${PULLABLE_TABLES.join(', ')})`, list)
        .addOption(new Option('--tables <names>', 'old name of --table').argParser(list).hideHelp())
        .option('--domain <d>', 'only patterns of this domain')
        .option('--lock-timeout <seconds>', 'how long to wait for the tool\'s write lock (default 5)')
        .option('--keep-backups <n>', 'backups of the v3 database to keep, newest first (default: $AQE_PULL_KEEP_BACKUPS, else 5)')
        .option('--dry-run', 'show what would be added; write nothing'),
    ),
  async run(opts, io) {
    const config = await commandConfig(opts, io);
    const given = [...((opts['table'] as string[] | undefined) ?? []), ...((opts['tables'] as string[] | undefined) ?? [])];
    const tables = given.length > 0 ? given : [...PULLABLE_TABLES];
    const unknown = tables.filter((t) => !(PULLABLE_TABLES as readonly string[]).includes(t));
    if (unknown.length > 0) throw new AppError('USAGE', `--table ${unknown.join(',')}: pull can write ${PULLABLE_TABLES.join(', ')} only\n${TRY}`);
    const from = (opts['fromEnv'] as string[] | undefined) ?? ['all'];
    const fromEnvs = from.includes('all') ? null : from;
    if (fromEnvs?.includes(config.env)) throw new AppError('USAGE', `--from-env ${config.env}: that is this workspace's own environment\n${TRY}`);
    const keep = parsePullKeepBackups(stringOpt(opts, 'keepBackups'), '--keep-backups');
    if (keep.problem) throw new AppError('USAGE', `${keep.problem}\n${TRY}`);
    const timeout = stringOpt(opts, 'lockTimeout');
    if (timeout !== undefined && !(Number(timeout) >= 0)) throw new AppError('USAGE', `--lock-timeout ${timeout}: expected a number of seconds >= 0\n${TRY}`);
    const result = await withOpsDatabase(opts, io, (db) =>
      pullPatterns({
        db,
        workspace: config.workspace,
        localEnv: config.env,
        fromEnvs,
        dryRun: opts['dryRun'] === true,
        keepBackups: keep.value ?? config.pullKeepBackups,
        ...(stringOpt(opts, 'domain') ? { domain: stringOpt(opts, 'domain')! } : {}),
        ...(timeout !== undefined ? { lockTimeoutMs: Number(timeout) * 1000 } : {}),
      }),
    );
    io.stdout.write(opts['json'] === true ? `${JSON.stringify(result, null, 2)}\n` : renderPull(result));
    return 'ok';
  },
};
