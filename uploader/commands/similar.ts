// `aqe-upload similar <table>/<key>`: the rows most similar to one row (its stored embedding).

import type { Command } from 'commander';
import { z } from 'zod';
import { AppError } from '../../schema/errors.js';
import { rowEmbedding, searchByVector } from '../../functions/search/search.js';
import { withDatabase } from '../local/local-sync.js';
import { renderSearchResult } from '../ui/load-report.js';
import { defineCommand } from './command.js';
import { withDatabaseOptions } from './database-option.js';
import { collect, text } from './flags.js';
import { SEARCH_FLAGS, searchOptions } from './search.js';
import { commandDatabaseUrl } from './shared.js';

export const similarCommand = defineCommand({
  name: 'similar',
  flags: z.object({ ...SEARCH_FLAGS, row: z.string(), env: text(), inEnv: text() }),
  example: 'aqe-upload similar qe_patterns/<key>',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('rows most similar to one row, across environments')
        .argument('<row>', '<table>/<source key>, e.g. qe_patterns/pattern-1700000000000-ab12')
        .option('--env <name>', 'the environment of the row (when the key exists in several)')
        .option('--in-env <name>', 'only return rows of this environment')
        .option('--limit <n>', 'number of results (default 10)')
        .option('--threshold <x>', 'minimum cosine similarity, 0..1')
        .option('--table <name>', 'only this table (repeatable)', collect),
    ),
  async run(flags, config, io) {
    const ref = flags.row;
    const slash = ref.indexOf('/');
    if (slash <= 0 || slash === ref.length - 1) throw new AppError('USAGE', `"${ref}": expected <table>/<key>\nTry: aqe-upload similar qe_patterns/<key>`);
    const table = ref.slice(0, slash);
    const key = ref.slice(slash + 1);
    const base = searchOptions({ ...flags, env: flags.inEnv });
    return withDatabase(commandDatabaseUrl(flags, config), async (db): Promise<'ok'> => {
      const env = flags.env;
      const row = await rowEmbedding(db, { table, key, ...(env ? { env } : {}) });
      const result = await searchByVector(db, row.vector, { ...base, ...(row.model ? { model: row.model } : {}), exclude: { table, env: row.env, sourceId: row.sourceId, sourceTable: row.sourceTable, key: row.key } });
      io.stdout.write(flags.json ? `${JSON.stringify({ row: { table, env: row.env, key: row.key }, ...result }, null, 2)}\n` : renderSearchResult(result));
      return 'ok';
    });
  },
});
