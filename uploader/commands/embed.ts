// `aqe-upload embed`: backfill pending embeddings by hand (what reconcile does on schedule), with
// progress (count, total and ETA) on a TTY.

import type { Command } from 'commander';
import { z } from 'zod';
import type { Queryable } from '../../functions/db/database.js';
import { backfillEmbeddings } from '../../functions/embed/backfill-embeddings.js';
import { AppError } from '../../schema/errors.js';
import { TARGET_TABLES } from '../../schema/tables/target-tables.js';
import { chooseEmbedder, parseSeconds, withDatabase } from '../local/local-sync.js';
import { commandProgress } from '../ui/messages.js';
import { defineCommand } from './command.js';
import { DATABASE_FLAGS, withDatabaseOptions } from './database-option.js';
import { parsed, text, toggle } from './flags.js';
import { commandDatabaseUrl } from './shared.js';

export const embedCommand = defineCommand({
  name: 'embed',
  flags: z.object({ ...DATABASE_FLAGS, budget: parsed((v) => parseSeconds(v, 600, '--budget', 'embed')), env: text(), reembed: toggle() }),
  example: 'aqe-upload embed --budget 120',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('compute pending embeddings (rows left by a load whose time budget ran out, or loaded without a model)')
        .option('--budget <seconds>', 'stop after this many seconds (default 600)')
        .option('--env <name>', 'only this environment')
        .option('--reembed', 'also embed again the rows whose vectors another model made (search compares only vectors of the model it embeds the query with)'),
    ),
  async run(flags, config, io) {
    const budget = flags.budget ?? 600;
    const choice = await chooseEmbedder(config);
    if (!choice.embedder) throw new AppError('MODEL_UNAVAILABLE', choice.detail ?? choice.reason ?? 'no embedding model available; set AQE_MODEL_DIR');
    const progress = commandProgress(io, flags);
    const env = flags.env;
    const result = await withDatabase(commandDatabaseUrl(flags, config), async (db) => {
      const total = await countPending(db, env);
      return backfillEmbeddings(db, {
        embedder: choice.embedder,
        budgetMs: budget * 1000,
        ...(env ? { env } : {}),
        ...(flags.reembed ? { reembed: true } : {}),
        onProgress: (p) => progress.step('embedding', p.embedded, total, p.table),
      });
    }).finally(() => progress.done());
    if (flags.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else io.stdout.write(`${result.requeued ? `${result.requeued} row(s) embedded by another model set to be embedded again with ${choice.embedder.modelId}\n` : ''}embedded ${result.embedded} rows (${result.cacheHits} from cache, ${result.inferences} computed); ${result.pending} still pending${result.budgetExhausted ? ' (budget used up: run again)' : ''}\n`);
    return result.pending > 0 ? 'partial' : 'ok';
  },
});

/** Rows waiting for an embedding (what the progress line counts towards). */
async function countPending(db: Queryable, env: string | undefined): Promise<number> {
  let total = 0;
  for (const table of TARGET_TABLES.filter((t) => t.embedded)) {
    const res = await db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM aqe.${table.name} WHERE embedding_status = 'pending' AND search_text IS NOT NULL${env ? ' AND source_env = $1' : ''}`,
      env ? [env] : [],
    );
    total += Number(res.rows[0]?.n ?? 0);
  }
  return total;
}
