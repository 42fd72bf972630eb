// `aqe-upload embed`: backfill pending embeddings by hand (what reconcile does on schedule), with
// progress (count, total and ETA) on a TTY.

import type { Command } from 'commander';
import type { Queryable } from '../../functions/db/database.js';
import { backfillEmbeddings } from '../../functions/embed/backfill-embeddings.js';
import { AppError } from '../../schema/errors.js';
import { TARGET_TABLES } from '../../schema/tables/target-tables.js';
import { chooseEmbedder, parseSeconds, withDatabase } from '../local/local-sync.js';
import { commandProgress } from '../ui/messages.js';
import type { CliCommand } from './command.js';
import { stringOpt } from './command.js';
import { resolveDatabaseUrl, withDatabaseOptions } from './database-option.js';

export const embedCommand: CliCommand = {
  name: 'embed',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('compute pending embeddings (rows left by a load whose time budget ran out, or loaded without a model)')
        .option('--budget <seconds>', 'stop after this many seconds (default 600)')
        .option('--env <name>', 'only this environment')
        .option('--reembed', 'also embed again the rows whose vectors another model made (search compares only vectors of the model it embeds the query with)'),
    ),
  async run(opts, io) {
    const budget = parseSeconds(stringOpt(opts, 'budget'), 600, '--budget', 'embed');
    const choice = await chooseEmbedder(io.env);
    if (!choice.embedder) throw new AppError('MODEL_UNAVAILABLE', choice.detail ?? choice.reason ?? 'no embedding model available; set AQE_MODEL_DIR');
    const progress = commandProgress(io, opts);
    const env = stringOpt(opts, 'env');
    const result = await withDatabase(resolveDatabaseUrl(opts, io), async (db, dialect) => {
      const total = await countPending(db, env);
      return backfillEmbeddings(db, dialect, {
        embedder: choice.embedder,
        budgetMs: budget * 1000,
        ...(env ? { env } : {}),
        ...(opts['reembed'] === true ? { reembed: true } : {}),
        onProgress: (p) => progress.step('embedding', p.embedded, total, p.table),
      });
    }).finally(() => progress.done());
    if (opts['json'] === true) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else io.stdout.write(`${result.requeued ? `${result.requeued} row(s) embedded by another model set to be embedded again with ${choice.embedder.modelId}\n` : ''}embedded ${result.embedded} rows (${result.cacheHits} from cache, ${result.inferences} computed); ${result.pending} still pending${result.budgetExhausted ? ' (budget used up: run again)' : ''}\n`);
    return result.pending > 0 ? 'partial' : 'ok';
  },
};

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
