// `aqe-upload search "<query>"`: semantic search (cosine k-NN, HNSW where available), optionally
// hybrid with full-text rank; full text alone when no model can be loaded (said so, on stderr).

import type { Command } from 'commander';
import { AppError } from '../../schema/errors.js';
import { searchByText, searchByVector, type SearchOptions } from '../../functions/search/search.js';
import { chooseEmbedder, noModelWarning, withDatabase } from '../local/local-sync.js';
import { databaseEnvironments, unknownEnvironmentNote } from '../ops/environments.js';
import { renderSearchResult } from '../ui/load-report.js';
import { hint, note, warn } from '../ui/messages.js';
import type { CliCommand } from './command.js';
import { stringOpt } from './command.js';
import { resolveDatabaseUrl, withDatabaseOptions } from './database-option.js';

const DEFAULT_LIMIT = 10;

export const searchCommand: CliCommand = {
  name: 'search',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('find rows by meaning: nearest neighbours of the query text across environments')
        .argument('<query>', 'text to search for')
        .option('--limit <n>', `number of results (default ${DEFAULT_LIMIT})`)
        .option('--threshold <x>', 'minimum cosine similarity, 0..1')
        .option('--table <name>', 'only this table (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
        .option('--domain <d>', 'only rows of this domain (qe_domain, domain, partition, namespace… per table)')
        .option('--env <name>', 'only rows of this environment')
        .option('--hybrid', 'fuse with full-text rank (reciprocal rank fusion)')
        .option('--include-missing', 'also rows gone from their source since (marked missing)'),
    ),
  async run(opts, io) {
    const query = String(opts['query'] ?? '').trim();
    if (query === '') throw new AppError('USAGE', 'search needs the text to look for (got an empty query)\nTry: aqe-upload search "flaky test retry"');
    const options = searchOptions(opts);
    // The model loads before the database opens: the local database is held only for the query.
    const choice = await chooseEmbedder(io.env);
    const vector = choice.embedder ? (await choice.embedder.embed([query]))[0]! : null;
    if (vector === null) warn(io, noModelWarning(choice.reason, 'searching by full text only'));
    const { result, envs } = await withDatabase(resolveDatabaseUrl(opts, io), async (db, dialect) => ({
      result: vector ? await searchByVector(db, dialect, vector, { ...options, queryText: query, model: choice.embedder!.modelId }) : await searchByText(db, dialect, query, options),
      envs: options.env !== undefined ? await databaseEnvironments(db) : [],
    }));
    if (options.env !== undefined) {
      const unknown = unknownEnvironmentNote(options.env, envs, 'this database');
      if (unknown !== null) note(io, `note: ${unknown}`);
    }
    const limit = options.limit ?? DEFAULT_LIMIT;
    io.stdout.write(opts['json'] === true ? `${JSON.stringify({ query, ...result }, null, 2)}\n` : renderSearchResult(result));
    if (result.hits.length >= limit) hint(io, opts, `showing the best ${limit}; more: aqe-upload search ${JSON.stringify(query)} --limit ${Math.min(1000, limit * 5)}`);
    return 'ok';
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
