// `aqe-upload patterns [--consensus] [--domain D]`: the QE patterns in the cloud, per environment,
// or merged across environments (confidence max, usage-weighted success rate, usage summed).

import type { Command } from 'commander';
import { z } from 'zod';
import { type ConsensusPattern, listConsensus, listPatterns, type PatternQuery, type PatternRow } from '../../functions/ops/consensus.js';
import { withDatabase } from '../local/local-sync.js';
import { renderConsensus, renderPatterns } from '../ui/ops-report.js';
import { hint } from '../ui/messages.js';
import { defineCommand } from './command.js';
import { DATABASE_FLAGS, withDatabaseOptions } from './database-option.js';
import { collect, parsed, repeated, text, toggle, usage } from './flags.js';
import { commandDatabaseUrl } from './shared.js';

const TRY = 'aqe-upload patterns --consensus --min-envs 2 --limit 20';
const wholeNumber = (flag: string) => parsed((v) => (/^\d+$/.test(v) && Number(v) >= 1 ? Number(v) : usage(`${flag} ${v}: expected a whole number >= 1`, TRY)));

export const patternsCommand = defineCommand({
  name: 'patterns',
  flags: z.object({ ...DATABASE_FLAGS, consensus: toggle(), domain: text(), env: repeated(), minEnvs: wholeNumber('--min-envs'), limit: wholeNumber('--limit') }),
  example: TRY,
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('list QE patterns in the cloud; --consensus merges the same pattern across environments')
        .option('--consensus', 'one row per pattern across environments: confidence max, success rate usage-weighted, usage summed, environments listed')
        .option('--domain <d>', 'only patterns of this domain (qe_domain or domain)')
        .option('--env <name>', 'only rows of (consensus: patterns seen in) this environment (repeatable)', collect)
        .option('--min-envs <n>', 'consensus: only patterns seen in at least N environments')
        .option('--limit <n>', 'at most N rows (default 100)'),
    ),
  async run(flags, config, io) {
    const limit = flags.limit ?? 100;
    const query: PatternQuery = {
      // one more than shown: tells whether the listing is cut short
      limit: limit + 1,
      minEnvironments: flags.minEnvs ?? 1,
      ...(flags.domain ? { domain: flags.domain } : {}),
      ...(flags.env ? { envs: flags.env } : {}),
    };
    const consensus = flags.consensus;
    const all = await withDatabase(commandDatabaseUrl(flags, config), async (db): Promise<unknown[]> => (consensus ? listConsensus(db, query) : listPatterns(db, query)));
    const truncated = all.length > limit;
    const rows = all.slice(0, limit);
    if (flags.json) io.stdout.write(`${JSON.stringify({ consensus, patterns: rows, truncated }, null, 2)}\n`);
    else io.stdout.write(consensus ? renderConsensus(rows as ConsensusPattern[]) : renderPatterns(rows as PatternRow[]));
    if (truncated) hint(io, flags, `showing the first ${limit} patterns; more: aqe-upload patterns${consensus ? ' --consensus' : ''} --limit ${limit * 5}`);
    return 'ok';
  },
});
