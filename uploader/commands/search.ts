// `aqe-upload search "<query>"`: semantic search (cosine k-NN, HNSW where available), optionally
// hybrid with full-text rank; full text alone when no model can be loaded (said so).

import type { Command } from 'commander';
import { AppError } from '../../schema/errors.js';
import { searchByText, searchByVector, type SearchOptions } from '../../functions/search/search.js';
import { chooseEmbedder, withDatabase } from '../local/local-sync.js';
import { renderSearchResult } from '../ui/load-report.js';
import type { CliCommand } from './command.js';
import { stringOpt } from './command.js';
import { resolveDatabaseUrl, withDatabaseOptions } from './database-option.js';

export const searchCommand: CliCommand = {
  name: 'search',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('find rows by meaning: nearest neighbours of the query text across environments')
        .argument('<query>', 'text to search for')
        .option('--limit <n>', 'number of results (default 10)')
        .option('--threshold <x>', 'minimum cosine similarity, 0..1')
        .option('--table <name>', 'only this table (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
        .option('--domain <d>', 'only rows of this domain (qe_domain, domain, partition, namespace… per table)')
        .option('--env <name>', 'only rows of this environment')
        .option('--hybrid', 'fuse with full-text rank (reciprocal rank fusion)')
        .option('--include-missing', 'also rows gone from their source since (marked missing)'),
    ),
  async run(opts, io) {
    const query = String(opts['query'] ?? '').trim();
    const options = searchOptions(opts);
    return withDatabase(resolveDatabaseUrl(opts, io), async (db, dialect): Promise<'ok'> => {
      const choice = await chooseEmbedder(io.env);
      const result = choice.embedder
        ? await searchByVector(db, dialect, (await choice.embedder.embed([query]))[0]!, { ...options, queryText: query, model: choice.embedder.modelId })
        : await searchByText(db, dialect, query, options);
      if (!choice.embedder && choice.reason) io.stderr.write(`warning: ${choice.reason}\n`);
      io.stdout.write(opts['json'] === true ? `${JSON.stringify({ query, ...result }, null, 2)}\n` : renderSearchResult(result));
      return 'ok';
    });
  },
};

/** Parses the shared search flags (all errors are usage errors). */
export function searchOptions(opts: Record<string, unknown>): SearchOptions {
  const num = (name: string, min: number, max: number): number | undefined => {
    const v = stringOpt(opts, name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new AppError('USAGE', `--${name} ${v}: expected a number from ${min} to ${max}\nTry: aqe-upload search "flaky tests" --${name} ${min === 0 ? '0.5' : '10'}`);
    return n;
  };
  const limit = num('limit', 1, 1000);
  const threshold = num('threshold', 0, 1);
  const tables = opts['table'] as string[] | undefined;
  return {
    ...(limit !== undefined ? { limit: Math.floor(limit) } : {}),
    ...(threshold !== undefined ? { threshold } : {}),
    ...(tables ? { tables } : {}),
    ...(stringOpt(opts, 'domain') !== undefined ? { domain: stringOpt(opts, 'domain')! } : {}),
    ...(stringOpt(opts, 'env') !== undefined ? { env: stringOpt(opts, 'env')! } : {}),
    ...(opts['hybrid'] === true ? { hybrid: true } : {}),
    ...(opts['includeMissing'] === true ? { includeMissing: true } : {}),
  };
}
