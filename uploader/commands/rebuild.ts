// `aqe-upload rebuild`: recreate the embedded database from the bucket's snapshots (the fix for a
// damaged one); the old folder is kept aside.

import type { Command } from 'commander';
import { z } from 'zod';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { AppError } from '../../schema/errors.js';
import { storeOptions } from '../config.js';
import { pgliteDataDir } from '../local/local-database.js';
import { chooseEmbedder, parseSeconds } from '../local/local-sync.js';
import { rebuildDatabase, type RebuildResult } from '../local/rebuild-database.js';
import { formatCount } from '../ui/format.js';
import { commandProgress, note } from '../ui/messages.js';
import { defineCommand } from './command.js';
import { parsed, text } from './flags.js';
import { commandDatabaseUrl, workspaceConfig } from './shared.js';

export const rebuildCommand = defineCommand({
  name: 'rebuild',
  flags: z.object({ workspace: text(), bucket: text(), database: text(), budget: parsed((v) => parseSeconds(v, 60, '--budget', 'rebuild')) }),
  example: 'aqe-upload rebuild',
  define: (cmd: Command) =>
    cmd
      .description("recreate the embedded database from the bucket's snapshots (the fix for a damaged one); the old folder is kept aside")
      .option('-w, --workspace <dir>', 'workspace whose bucket and embedded database are rebuilt (default: $AQE_WORKSPACE, else the current folder)')
      .option('--bucket <url>', 'gs://bucket[/prefix] or file:///dir (default: $AQE_BUCKET, the config file, else the workspace bucket)')
      .option('--database <url>', 'pglite://<folder> to rebuild (default: $AQE_DATABASE_URL, else <workspace>/.aqe-sync/db)')
      .option('--budget <seconds>', 'time for embedding the text afterwards (default 60; 0 = none, then: aqe-upload embed)'),
  async run(flags, cliConfig, io) {
    const databaseUrl = commandDatabaseUrl(flags, cliConfig);
    const dataDir = pgliteDataDir(databaseUrl);
    if (dataDir === null) {
      throw new AppError('USAGE', `rebuild recreates an embedded database folder (pglite://<folder>), not ${databaseUrl.replace(/\/\/[^@/]*@/, '//…@')}; a PostgreSQL server catches up with reconcile\nTry: aqe-upload reconcile`);
    }
    const budget = flags.budget ?? 60;
    const config = await workspaceConfig(flags, cliConfig);
    const store = await openBlobStore(config.bucket, storeOptions(config.storageRetries));
    const progress = commandProgress(io, flags);
    const result = await rebuildDatabase({
      databaseUrl,
      dataDir,
      store,
      embedder: () => chooseEmbedder(config.settings),
      embedBudgetMs: budget * 1000,
      onProgress: (p) => progress.step('rebuilding: loading snapshots', p.done, p.total),
    }).finally(() => progress.done());
    if (flags.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else io.stdout.write(renderRebuild(result));
    if (result.previousFolder !== null) note(io, `The previous folder is kept as ${result.previousFolder}; delete it once you are satisfied.`);
    return result.failed.length > 0 ? 'partial' : 'ok';
  },
});

function renderRebuild(r: RebuildResult): string {
  const out = [
    `rebuilt ${r.database} from ${r.snapshots} snapshot${r.snapshots === 1 ? '' : 's'} of ${r.bucket} in ${(r.durationMs / 1000).toFixed(1)} s`,
    `  ${r.loaded} loaded, ${r.duplicate} already there (same content), ${r.quarantined.length} quarantined, ${r.failed.length} failed; ${formatCount(r.rows)} rows read`,
  ];
  for (const q of r.quarantined) out.push(`  quarantined ${q.manifestKey}: ${q.code}: ${q.reason.split('\n')[0]}`);
  for (const f of r.failed) out.push(`  FAILED ${f.manifestKey}: ${f.code}: ${f.message.split('\n')[0]} (retry: aqe-upload reconcile)`);
  if (r.embedding) out.push(`  embeddings: ${formatCount(r.embedding.embedded)} filled, ${formatCount(r.embedding.pending)} pending${r.embedding.pending > 0 ? ' (aqe-upload embed fills them)' : ''}`);
  else out.push('  embeddings: not computed (--budget 0); aqe-upload embed fills them');
  return `${out.join('\n')}\n`;
}
