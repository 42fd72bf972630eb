// `aqe-upload status`: per environment, the last snapshot and success (with age), the runs of the
// last day, open quarantine, rows per table and pending embeddings; and for the local workspace,
// which sources changed since its last push.

import { storeOptions } from '../config.js';
import type { Command } from 'commander';
import { z } from 'zod';
import { readDatabaseStatus } from '../../functions/ops/status.js';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { errorMessage } from '../../schema/errors.js';
import { type LocalChanges, readLocalChanges } from '../ops/local-changes.js';
import { withDatabase } from '../local/local-sync.js';
import { renderStatus } from '../ui/ops-report.js';
import { bucketSnapshots, databaseEnvironments, unknownEnvironmentNote } from '../ops/environments.js';
import { defineCommand } from './command.js';
import { DATABASE_FLAGS, withDatabaseOptions } from './database-option.js';
import { negatable, text } from './flags.js';
import { commandDatabaseUrl, workspaceConfig } from './shared.js';

export const statusCommand = defineCommand({
  name: 'status',
  flags: z.object({ ...DATABASE_FLAGS, env: text(), bucket: text(), local: negatable() }),
  example: 'aqe-upload status --env laptop',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('per environment: last snapshot and load (age), runs of the last day, quarantine, rows per table, pending embeddings; local sources changed since the last push')
        .option('--env <name>', 'only this environment (and the local workspace as this environment)')
        .option('--bucket <url>', 'bucket of the local workspace\'s pushes (default: $AQE_BUCKET, the config file, else the workspace bucket)')
        .option('--no-local', 'leave out the local workspace'),
    ),
  async run(flags, cliConfig, io) {
    const env = flags.env;
    const { knownEnvs: known, ...database } = await withDatabase(commandDatabaseUrl(flags, cliConfig), async (db) => ({
      description: db.description,
      ...(await readDatabaseStatus(db, env ? { env } : {})),
      knownEnvs: await databaseEnvironments(db),
    }));
    // readDatabaseStatus filters to --env; `known` lists them all
    const notes: string[] = [];
    if (env !== undefined) {
      const unknown = unknownEnvironmentNote(env, known, 'this database');
      if (unknown !== null) notes.push(unknown);
    }
    let local: LocalChanges | null = null;
    let localProblem: string | null = null;
    if (flags.local) {
      try {
        const config = await workspaceConfig(flags, cliConfig);
        const store = await openBlobStore(config.bucket, storeOptions(config.storageRetries));
        local = await readLocalChanges(config, store);
        if (local.lastPush === null) {
          const inBucket = [...(await bucketSnapshots(store)).keys()];
          const unknown = unknownEnvironmentNote(config.env, inBucket, config.bucket);
          if (unknown !== null) notes.push(`${unknown}${inBucket[0] !== undefined ? ` (e.g. aqe-upload status --workspace ${config.workspace} --env ${inBucket[0]})` : ''}`);
        }
      } catch (err) {
        localProblem = errorMessage(err);
      }
    }
    const report = { ...database, environmentsKnown: known, local, localProblem, notes };
    io.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderStatus(report));
    return 'ok';
  },
});
