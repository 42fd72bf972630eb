// `aqe-upload similar <table>/<key>`: the rows most similar to one row (its stored embedding).

import type { Command } from 'commander';
import { AppError } from '../../schema/errors.js';
import { rowEmbedding, searchByVector } from '../../functions/search/search.js';
import { withDatabase } from '../local/local-sync.js';
import { renderSearchResult } from '../ui/load-report.js';
import type { CliCommand } from './command.js';
import { stringOpt } from './command.js';
import { resolveDatabaseUrl, withDatabaseOptions } from './database-option.js';
import { searchOptions } from './search.js';

export const similarCommand: CliCommand = {
  name: 'similar',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('rows most similar to one row, across environments')
        .argument('<row>', '<table>/<source key>, e.g. qe_patterns/pattern-1700000000000-ab12')
        .option('--env <name>', 'the environment of the row (when the key exists in several)')
        .option('--in-env <name>', 'only return rows of this environment')
        .option('--limit <n>', 'number of results (default 10)')
        .option('--threshold <x>', 'minimum cosine similarity, 0..1')
        .option('--table <name>', 'only this table (repeatable)', (v: string, prev: string[] = []) => [...prev, v]),
    ),
  async run(opts, io) {
    const ref = String(opts['row'] ?? '');
    const slash = ref.indexOf('/');
    if (slash <= 0 || slash === ref.length - 1) throw new AppError('USAGE', `"${ref}": expected <table>/<key>\nTry: aqe-upload similar qe_patterns/<key>`);
    const table = ref.slice(0, slash);
    const key = ref.slice(slash + 1);
    const base = searchOptions({ ...opts, env: stringOpt(opts, 'inEnv') });
    return withDatabase(resolveDatabaseUrl(opts, io), async (db, dialect): Promise<'ok'> => {
      const env = stringOpt(opts, 'env');
      const row = await rowEmbedding(db, { table, key, ...(env ? { env } : {}) });
      const result = await searchByVector(db, dialect, row.vector, { ...base, ...(row.model ? { model: row.model } : {}), exclude: { table, env: row.env, sourceId: row.sourceId, sourceTable: row.sourceTable, key: row.key } });
      io.stdout.write(opts['json'] === true ? `${JSON.stringify({ row: { table, env: row.env, key: row.key }, ...result }, null, 2)}\n` : renderSearchResult(result));
      return 'ok';
    });
  },
};
