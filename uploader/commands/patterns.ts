// `aqe-upload patterns [--consensus] [--domain D]`: the QE patterns in the cloud, per environment,
// or merged across environments (confidence max, usage-weighted success rate, usage summed).

import type { Command } from 'commander';
import { type ConsensusPattern, listConsensus, listPatterns, type PatternQuery, type PatternRow } from '../../functions/ops/consensus.js';
import { AppError } from '../../schema/errors.js';
import { withOpsDatabase, withOpsDatabaseOptions } from '../ops/ops-database.js';
import { renderConsensus, renderPatterns } from '../ui/ops-report.js';
import { hint } from '../ui/messages.js';
import type { CliCommand } from './command.js';
import { stringOpt } from './command.js';

export const patternsCommand: CliCommand = {
  name: 'patterns',
  define: (cmd: Command) =>
    withOpsDatabaseOptions(
      cmd
        .description('list QE patterns in the cloud; --consensus merges the same pattern across environments')
        .option('--consensus', 'one row per pattern across environments: confidence max, success rate usage-weighted, usage summed, environments listed')
        .option('--domain <d>', 'only patterns of this domain (qe_domain or domain)')
        .option('--env <name>', 'only rows of (consensus: patterns seen in) this environment (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
        .option('--min-envs <n>', 'consensus: only patterns seen in at least N environments')
        .option('--limit <n>', 'at most N rows (default 100)'),
    ),
  async run(opts, io) {
    const int = (name: string, fallback: number): number => {
      const v = stringOpt(opts, name);
      if (v === undefined) return fallback;
      if (!/^\d+$/.test(v) || Number(v) < 1) throw new AppError('USAGE', `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${v}: expected a whole number >= 1\nTry: aqe-upload patterns --consensus --min-envs 2 --limit 20`);
      return Number(v);
    };
    const limit = int('limit', 100);
    const query: PatternQuery = {
      // one more than shown: tells whether the listing is cut short
      limit: limit + 1,
      minEnvironments: int('minEnvs', 1),
      ...(stringOpt(opts, 'domain') ? { domain: stringOpt(opts, 'domain')! } : {}),
      ...(opts['env'] ? { envs: opts['env'] as string[] } : {}),
    };
    const consensus = opts['consensus'] === true;
    const all = await withOpsDatabase(opts, io, async (db): Promise<unknown[]> => (consensus ? listConsensus(db, query) : listPatterns(db, query)));
    const truncated = all.length > limit;
    const rows = all.slice(0, limit);
    if (opts['json'] === true) io.stdout.write(`${JSON.stringify({ consensus, patterns: rows, truncated }, null, 2)}\n`);
    else io.stdout.write(consensus ? renderConsensus(rows as ConsensusPattern[]) : renderPatterns(rows as PatternRow[]));
    if (truncated) hint(io, opts, `showing the first ${limit} patterns; more: aqe-upload patterns${consensus ? ' --consensus' : ''} --limit ${limit * 5}`);
    return 'ok';
  },
};
