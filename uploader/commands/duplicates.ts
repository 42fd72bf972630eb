// `aqe-upload duplicates --table T`: pairs of rows in different environments whose embeddings are
// at least --threshold similar (what the old similarity view gave users).

import type { Command } from 'commander';
import { AppError } from '../../schema/errors.js';
import { findDuplicates } from '../../functions/search/search.js';
import { withDatabase } from '../local/local-sync.js';
import { renderTable } from '../ui/format.js';
import { hint } from '../ui/messages.js';
import type { CliCommand } from './command.js';
import { stringOpt } from './command.js';
import { resolveDatabaseUrl, withDatabaseOptions } from './database-option.js';

export const duplicatesCommand: CliCommand = {
  name: 'duplicates',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('pairs of near-identical rows learned in different environments')
        .option('--table <name>', 'table to compare (default qe_patterns)', 'qe_patterns')
        .option('--threshold <x>', 'minimum cosine similarity (default 0.9)', '0.9')
        .option('--limit <n>', 'most pairs to list (default 100)', '100'),
    ),
  async run(opts, io) {
    const threshold = Number(stringOpt(opts, 'threshold'));
    const limit = Number(stringOpt(opts, 'limit'));
    if (!(threshold >= 0 && threshold <= 1)) throw new AppError('USAGE', `--threshold ${stringOpt(opts, 'threshold')}: expected 0..1\nTry: aqe-upload duplicates --threshold 0.95`);
    if (!(limit >= 1)) throw new AppError('USAGE', `--limit ${stringOpt(opts, 'limit')}: expected a positive number\nTry: aqe-upload duplicates --limit 50`);
    return withDatabase(resolveDatabaseUrl(opts, io), async (db, dialect): Promise<'ok'> => {
      // one more than shown: tells whether the listing is cut short
      const found = await findDuplicates(db, dialect, { table: stringOpt(opts, 'table')!, threshold, limit: limit + 1 });
      const truncated = found.length > limit;
      const pairs = found.slice(0, limit);
      if (truncated) hint(io, opts, `showing the ${limit} most similar pairs; more: aqe-upload duplicates --table ${stringOpt(opts, 'table')} --threshold ${threshold} --limit ${limit * 5}`);
      if (opts['json'] === true) io.stdout.write(`${JSON.stringify({ pairs, truncated }, null, 2)}\n`);
      else if (pairs.length === 0) io.stdout.write(`no pairs at or above similarity ${threshold}\n`);
      else
        io.stdout.write(
          `${renderTable(
            ['similarity', 'env A', 'key A', 'env B', 'key B'],
            pairs.map((p) => [p.similarity.toFixed(3), p.a.env, p.a.label ?? p.a.key, p.b.env, p.b.label ?? p.b.key]),
            new Set([0]),
          )}\n`,
        );
      return 'ok';
    });
  },
};
