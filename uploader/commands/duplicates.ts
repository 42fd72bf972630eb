// `aqe-upload duplicates --table T`: pairs of rows in different environments whose embeddings are
// at least --threshold similar (what the old similarity view gave users).

import type { Command } from 'commander';
import { z } from 'zod';
import { findDuplicates } from '../../functions/search/search.js';
import { withDatabase } from '../local/local-sync.js';
import { renderTable } from '../ui/format.js';
import { hint } from '../ui/messages.js';
import { defineCommand } from './command.js';
import { DATABASE_FLAGS, withDatabaseOptions } from './database-option.js';
import { parsed, usage } from './flags.js';
import { commandDatabaseUrl } from './shared.js';

export const duplicatesCommand = defineCommand({
  name: 'duplicates',
  flags: z.object({
    ...DATABASE_FLAGS,
    table: z.string(),
    threshold: parsed((v) => (Number(v) >= 0 && Number(v) <= 1 ? Number(v) : usage(`--threshold ${v}: expected 0..1`, 'aqe-upload duplicates --threshold 0.95'))).pipe(z.number()),
    limit: parsed((v) => (Number(v) >= 1 ? Number(v) : usage(`--limit ${v}: expected a positive number`, 'aqe-upload duplicates --limit 50'))).pipe(z.number()),
  }),
  example: 'aqe-upload duplicates --threshold 0.95',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('pairs of near-identical rows learned in different environments')
        .option('--table <name>', 'table to compare (default qe_patterns)', 'qe_patterns')
        .option('--threshold <x>', 'minimum cosine similarity (default 0.9)', '0.9')
        .option('--limit <n>', 'most pairs to list (default 100)', '100'),
    ),
  async run(flags, config, io) {
    const { threshold, limit } = flags;
    return withDatabase(commandDatabaseUrl(flags, config), async (db): Promise<'ok'> => {
      // one more than shown: tells whether the listing is cut short
      const found = await findDuplicates(db, { table: flags.table, threshold, limit: limit + 1 });
      const truncated = found.length > limit;
      const pairs = found.slice(0, limit);
      if (truncated) hint(io, flags, `showing the ${limit} most similar pairs; more: aqe-upload duplicates --table ${flags.table} --threshold ${threshold} --limit ${limit * 5}`);
      if (flags.json) io.stdout.write(`${JSON.stringify({ pairs, truncated }, null, 2)}\n`);
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
});
