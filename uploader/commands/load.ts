// `aqe-upload load --manifest KEY`: replay one snapshot by hand (what the loadSnapshot function does
// per event), from the workspace's bucket unless --bucket names another.

import { type Command, Option } from 'commander';
import { z } from 'zod';
import { AppError } from '../../schema/errors.js';
import { parseManifestKey } from '../../schema/snapshot/object-keys.js';
import { chooseEmbedder, parseSeconds, runLocalLoad } from '../local/local-sync.js';
import { loadOutcomeJson, loadWarnings, renderLoadOutcome, showLoadProgress } from '../ui/load-report.js';
import { commandProgress, warn } from '../ui/messages.js';
import { defineCommand } from './command.js';
import { parsed, text } from './flags.js';
import { workspaceConfig } from './shared.js';

const manifestKeyFlag = (v: string) => {
  const parts = parseManifestKey(v);
  if (parts === null || parts.prefix !== '') {
    throw new AppError('USAGE', `--manifest ${v}: expected a manifest key snapshots/<env>/<snapshotId>/manifest.json (relative to the bucket)\nTry: aqe-upload snapshots   (lists the keys)`);
  }
  return v;
};

export const loadCommand = defineCommand({
  name: 'load',
  flags: z.object({
    manifest: parsed(manifestKeyFlag).pipe(z.string()),
    bucket: text(),
    database: text(),
    workspace: text(),
    budget: parsed((v) => parseSeconds(v, 60, '--budget', 'load --manifest KEY')),
    embedBudget: parsed((v) => parseSeconds(v, 60, '--embed-budget', 'load --manifest KEY')),
  }),
  example: 'aqe-upload load --manifest snapshots/<env>/<snapshotId>/manifest.json',
  define: (cmd: Command) =>
    cmd
      .description('load one pushed snapshot into the database (idempotent; a bad snapshot is quarantined)')
      .requiredOption('--manifest <key>', 'snapshots/<env>/<snapshotId>/manifest.json (see aqe-upload snapshots)')
      .option('--bucket <url>', 'gs://bucket[/prefix] or file:///dir (default: $AQE_BUCKET, the config file, else the workspace bucket)')
      .option('--database <url>', 'postgres://… or pglite://<dir> (default: $AQE_DATABASE_URL, else the workspace database)')
      .option('-w, --workspace <dir>', 'workspace whose bucket and embedded database are the defaults')
      .option('--budget <seconds>', 'time for embedding new text after the load (default 60; 0 = none)')
      .addOption(new Option('--embed-budget <seconds>', 'old name of --budget').hideHelp()),
  async run(flags, cliConfig, io) {
    const config = await workspaceConfig(flags, cliConfig);
    const budget = flags.budget ?? flags.embedBudget ?? 60;
    const progress = commandProgress(io, flags);
    const outcome = await runLocalLoad({
      loadLimits: config.settings.loadLimits,
      storageRetries: config.storageRetries,
      bucket: config.bucket,
      manifestKey: flags.manifest,
      databaseUrl: config.database.url,
      embedder: budget > 0 ? await chooseEmbedder(config.settings) : null,
      embedBudgetMs: budget * 1000,
      onProgress: (p) => showLoadProgress(progress, p),
    }).finally(() => progress.done());
    for (const w of loadWarnings(outcome)) warn(io, w);
    io.stdout.write(flags.json ? `${JSON.stringify(loadOutcomeJson(outcome), null, 2)}\n` : renderLoadOutcome(outcome));
    if (outcome.status === 'quarantined') {
      io.stderr.write(`aqe-upload: snapshot ${outcome.manifestKey} was quarantined: ${outcome.reason}\n`);
      return 'failure';
    }
    return 'ok';
  },
});
