// `aqe-upload load --manifest KEY`: replay one snapshot by hand (what the loadSnapshot function does
// per event), from the workspace's bucket unless --bucket names another.

import { type Command, Option } from 'commander';
import { parseLoadLimits } from '../config.js';
import { AppError } from '../../schema/errors.js';
import { parseManifestKey } from '../../schema/snapshot/object-keys.js';
import { chooseEmbedder, parseSeconds, runLocalLoad } from '../local/local-sync.js';
import { loadOutcomeJson, loadWarnings, renderLoadOutcome, showLoadProgress } from '../ui/load-report.js';
import { commandProgress, warn } from '../ui/messages.js';
import type { CliCommand } from './command.js';
import { stringOpt } from './command.js';
import { resolveDatabaseUrl } from './database-option.js';
import { commandConfig } from './shared.js';

export const loadCommand: CliCommand = {
  name: 'load',
  define: (cmd: Command) =>
    cmd
      .description('load one pushed snapshot into the database (idempotent; a bad snapshot is quarantined)')
      .requiredOption('--manifest <key>', 'snapshots/<env>/<snapshotId>/manifest.json (see aqe-upload snapshots)')
      .option('--bucket <url>', 'gs://bucket[/prefix] or file:///dir (default: $AQE_BUCKET, the config file, else the workspace bucket)')
      .option('--database <url>', 'postgres://… or pglite://<dir> (default: $AQE_DATABASE_URL, else the workspace database)')
      .option('-w, --workspace <dir>', 'workspace whose bucket and embedded database are the defaults')
      .option('--budget <seconds>', 'time for embedding new text after the load (default 60; 0 = none)')
      .addOption(new Option('--embed-budget <seconds>', 'old name of --budget').hideHelp()),
  async run(opts, io) {
    const manifest = stringOpt(opts, 'manifest')!;
    const parts = parseManifestKey(manifest);
    if (parts === null || parts.prefix !== '') {
      throw new AppError('USAGE', `--manifest ${manifest}: expected a manifest key snapshots/<env>/<snapshotId>/manifest.json (relative to the bucket)\nTry: aqe-upload snapshots   (lists the keys)`);
    }
    const config = await commandConfig(opts, io);
    const databaseUrl = resolveDatabaseUrl(opts, io);
    const budgetFlag = stringOpt(opts, 'budget') !== undefined ? '--budget' : '--embed-budget';
    const budget = parseSeconds(stringOpt(opts, 'budget') ?? stringOpt(opts, 'embedBudget'), 60, budgetFlag, 'load --manifest KEY');
    const progress = commandProgress(io, opts);
    const limits = parseLoadLimits(io.env);
    if (limits.problems.length > 0) throw new AppError('CONFIG_INVALID', limits.problems.join('\n'));
    const outcome = await runLocalLoad({
      loadLimits: limits.value,
      storageRetries: config.storageRetries,
      bucket: config.bucket,
      manifestKey: manifest,
      databaseUrl,
      embedder: budget > 0 ? await chooseEmbedder(io.env) : null,
      embedBudgetMs: budget * 1000,
      onProgress: (p) => showLoadProgress(progress, p),
    }).finally(() => progress.done());
    for (const w of loadWarnings(outcome)) warn(io, w);
    io.stdout.write(opts['json'] === true ? `${JSON.stringify(loadOutcomeJson(outcome), null, 2)}\n` : renderLoadOutcome(outcome));
    if (outcome.status === 'quarantined') {
      io.stderr.write(`aqe-upload: snapshot ${outcome.manifestKey} was quarantined: ${outcome.reason}\n`);
      return 'failure';
    }
    return 'ok';
  },
};
