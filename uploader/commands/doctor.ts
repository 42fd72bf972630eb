// `aqe-upload doctor`: checks what a workspace's sync depends on and prints a runnable fix for each
// problem: configuration, sources, bucket, the local database (in use? does it open and read back?
// schema up to date?) and the embedding model. Changes nothing; exit 1 when something is wrong.

import type { Command } from 'commander';
import { z } from 'zod';
import type { Queryable } from '../../functions/db/database.js';
import { loadMigrations } from '../../functions/db/migrate.js';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { errorMessage, isAppError } from '../../schema/errors.js';
import { TARGET_TABLES } from '../../schema/tables/target-tables.js';
import { storeOptions, type UploaderConfig } from '../config.js';
import { describeHolder, probeDatabaseLock } from '../local/database-lock.js';
import { pgliteDataDir, rebuildHint, withOpenDatabase } from '../local/local-database.js';
import { chooseEmbedder } from '../local/local-sync.js';
import { bucketSnapshots } from '../ops/environments.js';
import { formatCount } from '../ui/format.js';
import { discoverSources } from '../workspace/discover.js';
import { defineCommand } from './command.js';
import { DATABASE_FLAGS, withDatabaseOptions } from './database-option.js';
import { text } from './flags.js';
import { commandDatabaseUrl, workspaceConfig } from './shared.js';

export interface DoctorCheck {
  name: string;
  status: 'ok' | 'warning' | 'problem';
  detail: string;
  /** A runnable command or a short instruction. */
  fix?: string;
}

export const doctorCommand = defineCommand({
  name: 'doctor',
  flags: z.object({ ...DATABASE_FLAGS, bucket: text(), env: text() }),
  example: 'aqe-upload doctor',
  define: (cmd: Command) =>
    withDatabaseOptions(
      cmd
        .description('check the workspace, its bucket, the local database and the embedding model; print the fix for each problem (changes nothing)')
        .option('--bucket <url>', 'bucket to check (default: $AQE_BUCKET, the config file, else the workspace bucket)')
        .option('--env <name>', 'environment to check (default: the one the workspace uses)'),
    ),
  async run(flags, cliConfig, io) {
    const checks: DoctorCheck[] = [];
    let config: Readonly<UploaderConfig> | null = null;
    try {
      config = await workspaceConfig(flags, cliConfig);
      checks.push({ name: 'configuration', status: 'ok', detail: `workspace ${config.workspace}${config.configFile ? `, ${config.configFile}` : ''}; environment "${config.env}" (${config.envOrigin})` });
    } catch (err) {
      checks.push({ name: 'configuration', status: 'problem', detail: errorMessage(err).split('\n')[0]!, fix: errorMessage(err).split('\n').find((l) => l.startsWith('Try:'))?.slice(5) ?? 'fix the settings above' });
    }
    if (config !== null) {
      const files = (await discoverSources(config)).filter((f) => f.state !== 'excluded' && f.state !== 'disabled');
      const present = files.filter((f) => f.state === 'present').length;
      const problems = files.filter((f) => f.state === 'problem');
      checks.push(
        present === 0
          ? { name: 'sources', status: 'problem', detail: `none of ${files.length} known paths exists in ${config.workspace}`, fix: `aqe-upload sources --workspace ${config.workspace}` }
          : { name: 'sources', status: problems.length > 0 ? 'warning' : 'ok', detail: `${present} present${problems.length > 0 ? `, ${problems.length} unreadable (${problems.map((p) => p.path).join(', ')})` : ''}`, ...(problems.length > 0 ? { fix: `aqe-upload sources --workspace ${config.workspace}` } : {}) },
      );
      checks.push(await checkBucket(config));
    }
    let databaseUrl: string | null = null;
    try {
      databaseUrl = config?.database.url ?? commandDatabaseUrl(flags, cliConfig);
    } catch (err) {
      checks.push({ name: 'database', status: 'problem', detail: errorMessage(err).split('\n')[0]!, fix: 'check --database / AQE_DATABASE_URL' });
    }
    if (databaseUrl !== null) checks.push(await checkDatabase(databaseUrl));
    const model = await chooseEmbedder(cliConfig);
    checks.push(
      model.embedder
        ? { name: 'embedding model', status: 'ok', detail: model.embedder.modelId }
        : { name: 'embedding model', status: 'warning', detail: `unavailable (${model.reason ?? 'unknown'}): rows stay pending, search uses full text`, fix: 'set AQE_MODEL_DIR to a folder of Xenova/all-MiniLM-L6-v2 (README: Embeddings and search)' },
    );
    const failed = checks.some((c) => c.status === 'problem');
    if (flags.json) io.stdout.write(`${JSON.stringify({ ok: !failed, checks }, null, 2)}\n`);
    else {
      for (const c of checks) {
        io.stdout.write(`${c.status === 'ok' ? 'ok     ' : c.status === 'warning' ? 'warning' : 'PROBLEM'}  ${c.name}: ${c.detail}\n`);
        if (c.fix) io.stdout.write(`         fix: ${c.fix}\n`);
      }
    }
    return failed ? 'failure' : 'ok';
  },
});

async function checkBucket(config: Readonly<UploaderConfig>): Promise<DoctorCheck> {
  try {
    const store = await openBlobStore(config.bucket, storeOptions(config.storageRetries));
    const byEnv = await bucketSnapshots(store);
    const mine = byEnv.get(config.env)?.length ?? 0;
    const summary = [...byEnv.entries()].map(([e, l]) => `${e} ${l.length}`).join(', ') || 'no snapshots yet';
    if (byEnv.size > 0 && mine === 0) {
      return { name: 'bucket', status: 'warning', detail: `${store.url}: environment "${config.env}" has never pushed here (snapshots: ${summary})`, fix: `aqe-upload push --workspace ${config.workspace} --env ${[...byEnv.keys()][0]}` };
    }
    return { name: 'bucket', status: 'ok', detail: `${store.url}: snapshots per environment: ${summary}` };
  } catch (err) {
    return { name: 'bucket', status: 'problem', detail: `${config.bucket}: ${errorMessage(err).split('\n')[0]}`, fix: 'check the bucket URL and your credentials (gcloud auth application-default login)' };
  }
}

async function checkDatabase(url: string): Promise<DoctorCheck> {
  const dataDir = pgliteDataDir(url);
  const name = 'database';
  if (dataDir !== null) {
    const lock = await probeDatabaseLock(dataDir);
    if (lock.held) return { name, status: 'ok', detail: `${dataDir}: in use by ${describeHolder(lock.holder)} right now (not opened; run doctor again when it is free)` };
  }
  try {
    return await withOpenDatabase(url, async (db) => {
      const schema = await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM pg_catalog.pg_namespace WHERE nspname = 'aqe'`);
      if (Number(schema.rows[0]?.n ?? 0) === 0) return { name, status: 'ok' as const, detail: `${db.description}: empty (nothing loaded yet)` };
      const pending = await pendingMigrations(db);
      if (pending.length > 0) return { name, status: 'warning' as const, detail: `${db.description}: ${pending.length} migration(s) pending (applied before the next load)`, fix: `aqe-upload migrate --database ${url}` };
      // Reading every table end to end finds pages PostgreSQL cannot read back.
      let rows = 0;
      for (const t of TARGET_TABLES) rows += Number((await db.query<{ n: string | number }>(`SELECT count(*) AS n FROM aqe.${t.name}`)).rows[0]?.n ?? 0);
      return { name, status: 'ok' as const, detail: `${db.description}: opens and reads back, ${formatCount(rows)} rows, schema up to date` };
    });
  } catch (err) {
    if (isAppError(err, 'DB_DAMAGED') && dataDir !== null) return { name, status: 'problem', detail: errorMessage(err).split('\n')[0]!, fix: rebuildHint(dataDir) };
    return { name, status: 'problem', detail: errorMessage(err).split('\n')[0]!, fix: dataDir !== null ? rebuildHint(dataDir) : 'check --database / AQE_DATABASE_URL and that the server answers' };
  }
}

/** Migration steps not applied yet. */
async function pendingMigrations(db: Queryable): Promise<string[]> {
  const applied = new Set((await db.query<{ name: string }>('SELECT name FROM aqe.schema_migrations')).rows.map((r) => r.name));
  return (await loadMigrations()).map((m) => m.name).filter((n) => !applied.has(n));
}
