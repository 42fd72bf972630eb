// `aqe-upload search "<query>"`: semantic search (cosine k-NN, HNSW where available), optionally
// hybrid with full-text rank; full text alone when no model can be loaded (said so, on stderr).

import type { Command } from 'commander';
import { z } from 'zod';
import { AppError } from '../../schema/errors.js';
import { searchByText, searchByVector, type SearchOptions } from '../../functions/search/search.js';
import { chooseEmbedder, noModelWarning, withDatabase } from '../local/local-sync.js';
import { databaseEnvironments, unknownEnvironmentNote } from '../ops/environments.js';
import { renderSearchResult } from '../ui/load-report.js';
import { hint, note, warn } from '../ui/messages.js';
import { defineCommand } from './command.js';
import { DATABASE_FLAGS, withDatabaseOptions } from './database-option.js';
import { collect, parsed, repeated, text, toggle, usage } from './flags.js';
import { commandDatabaseUrl } from './shared.js';

const DEFAULT_LIMIT = 10;

/** A number flag of search and similar, from `min` to `max`. */
export function rangeFlag(name: string, min: number, max: number) {
  return parsed((v) => {
    const n = Number(v);
    return Number.isFinite(n) && n >= min && n <= max ? n : usage(`--${name} ${v}: expected a number from ${min} to ${max}`, `aqe-upload search "flaky tests" --${name} ${min === 0 ? '0.5' : '10'}`);
  });
}

/** The flags search and similar share. */
export const SEARCH_FLAGS = {
  ...DATABASE_FLAGS,
  limit: rangeFlag('limit', 1, 1000),
  threshold: rangeFlag('threshold', 0, 1),
  table: repeated(),
};

export const searchCommand = defineCommand({
  name: 'search',
  flags: z.object({ ...SEARCH_FLAGS, query: z.string(), domain: text(), env: text(), hybrid: toggle(), includeMissing: toggle() }),
  example: 'aqe-upload search "flaky test retry"',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('find rows by meaning: nearest neighbours of the query text across environments')
        .argument('<query>', 'text to search for')
        .option('--limit <n>', `number of results (default ${DEFAULT_LIMIT})`)
        .option('--threshold <x>', 'minimum cosine similarity, 0..1')
        .option('--table <name>', 'only this table (repeatable)', collect)
        .option('--domain <d>', 'only rows of this domain (qe_domain, domain, partition, namespace… per table)')
        .option('--env <name>', 'only rows of this environment')
        .option('--hybrid', 'fuse with full-text rank (reciprocal rank fusion)')
        .option('--include-missing', 'also rows gone from their source since (marked missing)'),
    ),
  async run(flags, config, io) {
    const query = flags.query.trim();
    if (query === '') throw new AppError('USAGE', 'search needs the text to look for (got an empty query)\nTry: aqe-upload search "flaky test retry"');
    const options = searchOptions(flags);
    // The model loads before the database opens: the local database is held only for the query.
    const choice = await chooseEmbedder(config);
    const vector = choice.embedder ? (await choice.embedder.embed([query]))[0]! : null;
    if (vector === null) warn(io, noModelWarning(choice.reason, 'searching by full text only'));
    const { result, envs } = await withDatabase(commandDatabaseUrl(flags, config), async (db) => ({
      result: vector ? await searchByVector(db, vector, { ...options, queryText: query, model: choice.embedder!.modelId }) : await searchByText(db, query, options),
      envs: options.env !== undefined ? await databaseEnvironments(db) : [],
    }));
    if (options.env !== undefined) {
      const unknown = unknownEnvironmentNote(options.env, envs, 'this database');
      if (unknown !== null) note(io, `note: ${unknown}`);
    }
    const limit = options.limit ?? DEFAULT_LIMIT;
    io.stdout.write(flags.json ? `${JSON.stringify({ query, ...result }, null, 2)}\n` : renderSearchResult(result));
    if (result.hits.length >= limit) hint(io, flags, `showing the best ${limit}; more: aqe-upload search ${JSON.stringify(query)} --limit ${Math.min(1000, limit * 5)}`);
    return 'ok';
  },
});

/** The search options of the typed flags. */
export function searchOptions(flags: { limit?: number | undefined; threshold?: number | undefined; table?: string[] | undefined; domain?: string | undefined; env?: string | undefined; hybrid?: boolean; includeMissing?: boolean }): SearchOptions {
  return {
    ...(flags.limit !== undefined ? { limit: Math.floor(flags.limit) } : {}),
    ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
    ...(flags.table ? { tables: flags.table } : {}),
    ...(flags.domain !== undefined ? { domain: flags.domain } : {}),
    ...(flags.env !== undefined ? { env: flags.env } : {}),
    ...(flags.hybrid === true ? { hybrid: true } : {}),
    ...(flags.includeMissing === true ? { includeMissing: true } : {}),
  };
}
