// `aqe-upload load`: replay one snapshot by hand (what the loadSnapshot function does per event).

import { parseLoadLimits, parseStorageRetries } from '../config.js';
import type { Command } from 'commander';
import { AppError } from '../../schema/errors.js';
import { chooseEmbedder, parseSeconds, runLocalLoad } from '../local/local-sync.js';
import { loadOutcomeJson, renderLoadOutcome } from '../ui/load-report.js';
import type { CliCommand } from './command.js';
import { stringOpt } from './command.js';
import { resolveDatabaseUrl } from './database-option.js';

export const loadCommand: CliCommand = {
  name: 'load',
  define: (cmd: Command) =>
    cmd
      .description('load one pushed snapshot into the database (idempotent; a bad snapshot is quarantined)')
      .requiredOption('--bucket <url>', 'gs://bucket[/prefix] or file:///dir')
      .requiredOption('--manifest <key>', 'snapshots/<env>/<snapshotId>/manifest.json')
      .option('--database <url>', 'postgres://… or pglite://<dir> (default: $AQE_DATABASE_URL, else the workspace database)')
      .option('-w, --workspace <dir>', 'workspace whose embedded database is the default')
      .option('--embed-budget <seconds>', 'time for embedding new text after the load (default 60; 0 = none)'),
  async run(opts, io) {
    const databaseUrl = resolveDatabaseUrl(opts, io);
    const budget = parseSeconds(stringOpt(opts, 'embedBudget'), 60, '--embed-budget');
    const retries = parseStorageRetries(io.env);
    if (retries.problem !== null) throw new AppError('CONFIG_INVALID', retries.problem);
    const limits = parseLoadLimits(io.env);
    if (limits.problems.length > 0) throw new AppError('CONFIG_INVALID', limits.problems.join('\n'));
    const outcome = await runLocalLoad({
      loadLimits: limits.value,
      storageRetries: retries.value,
      bucket: stringOpt(opts, 'bucket')!,
      manifestKey: stringOpt(opts, 'manifest')!,
      databaseUrl,
      embedder: budget > 0 ? await chooseEmbedder(io.env) : null,
      embedBudgetMs: budget * 1000,
    });
    io.stdout.write(opts['json'] === true ? `${JSON.stringify(loadOutcomeJson(outcome), null, 2)}\n` : renderLoadOutcome(outcome));
    if (outcome.status === 'quarantined') throw new AppError('SNAPSHOT_FAILED', `snapshot ${outcome.manifestKey} was quarantined: ${outcome.reason}`);
    return 'ok';
  },
};
