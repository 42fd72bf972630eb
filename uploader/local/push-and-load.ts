// One push, and with a local bucket the load of the snapshot it committed into the local database
// (what `push` and every push of `watch` do). Everything the load needs is checked before the push
// writes anything; a load that fails after the commit is returned as pending, never lost: the
// snapshot is in the bucket and `reconcile` (or `rebuild`) loads it.

import type { LoadOutcome, LoadProgress } from '../../functions/loader/load-snapshot.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import { redactSecrets } from '../../schema/redact.js';
import { type EnvMap, parseLoadLimits, type UploaderConfig } from '../config.js';
import type { PushOptions, PushResult } from '../push/run-push.js';
import { runPush } from '../push/run-push.js';
import { pgliteDataDir, rebuildHint } from './local-database.js';
import type { EmbedderChoice } from './local-sync.js';
import { chooseEmbedder, defaultDatabaseUrl, parseSeconds, runLocalLoad } from './local-sync.js';

export interface PushAndLoadOptions extends Omit<PushOptions, 'config'> {
  config: Pick<UploaderConfig, 'workspace' | 'env' | 'bucket' | 'sources' | 'exclude' | 'localBucket' | 'databaseUrl'> & Partial<Pick<UploaderConfig, 'storageRetries' | 'bucketOrigin'>>;
  /** false: a pure push even with a local bucket (--no-load). */
  load: boolean;
  /** AQE_EMBED_BUDGET_SECONDS and AQE_MODEL_DIR are read from here. */
  env: EnvMap;
  /** The embedder for the load (default: chosen from `env`); a long-running caller passes a memo so the model loads once. */
  embedder?: (env: EnvMap) => Promise<EmbedderChoice>;
  /** Called when the load starts (progress display). */
  onLoading?: () => void;
  onLoadProgress?: (p: LoadProgress) => void;
}

/** A load that did not happen after the snapshot was committed: why, and the command that does it. */
export interface PendingLoad {
  code: string;
  message: string;
  /** A runnable command that loads it (reconcile, or rebuild for a damaged embedded database). */
  fix: string;
}

export interface PushAndLoadResult {
  push: PushResult;
  /** The load of the committed snapshot, or null (not a local bucket, --no-load, dry run, nothing written, or pending). */
  load: LoadOutcome | null;
  /** Set when the snapshot was committed but its load failed. */
  pendingLoad: PendingLoad | null;
}

/**
 * Pushes the workspace; with a local bucket (the embedded default) loads the snapshot just
 * committed, in this process, into `config.databaseUrl` or the workspace's embedded PGlite.
 * A quarantined load is returned, not thrown: the snapshot is committed either way; so is a load
 * that could not run (database unreachable, busy or damaged): `pendingLoad` says how to finish it.
 * @example const { push, load, pendingLoad } = await pushAndLoad({ config, load: true, env: io.env })
 */
export async function pushAndLoad(options: PushAndLoadOptions): Promise<PushAndLoadResult> {
  const { config, load: wantLoad, env, embedder = chooseEmbedder, onLoading, onLoadProgress, ...pushOptions } = options;
  const willLoad = config.localBucket && wantLoad && pushOptions.dryRun !== true;
  // Checked before the first byte is written.
  const budget = willLoad ? parseSeconds(env['AQE_EMBED_BUDGET_SECONDS'], 60, 'AQE_EMBED_BUDGET_SECONDS', 'push') : 0;
  const databaseUrl = config.databaseUrl ?? defaultDatabaseUrl(config.workspace);
  if (willLoad) pgliteDataDir(databaseUrl); // throws CONFIG_INVALID for a bad URL

  const push = await runPush({ ...pushOptions, config });
  if (!willLoad || push.manifestKey === null || !push.manifestWritten) return { push, load: null, pendingLoad: null };
  onLoading?.();
  try {
    const load = await runLocalLoad({
      bucket: config.bucket,
      manifestKey: push.manifestKey,
      databaseUrl,
      embedder: budget > 0 ? await embedder(env) : null,
      embedBudgetMs: budget * 1000,
      storageRetries: config.storageRetries,
      loadLimits: parseLoadLimits(env).value,
      ...(onLoadProgress ? { onProgress: onLoadProgress } : {}),
    });
    return { push, load, pendingLoad: null };
  } catch (err) {
    return { push, load: null, pendingLoad: pendingLoadOf(err, config, databaseUrl) };
  }
}

/** The pending load for a load error after the commit (pure). */
export function pendingLoadOf(err: unknown, config: Pick<UploaderConfig, 'workspace' | 'bucket' | 'databaseUrl'> & Partial<Pick<UploaderConfig, 'bucketOrigin'>>, databaseUrl: string): PendingLoad {
  const code = err instanceof AppError ? err.code : 'INTERNAL';
  const message = redactSecrets(errorMessage(err));
  const dataDir = pgliteDataDir(databaseUrl);
  if (code === 'DB_DAMAGED' && dataDir !== null) return { code, message, fix: `${rebuildHint(dataDir)}${config.bucketOrigin === 'flag' ? ` --bucket ${config.bucket}` : ''}` };
  const flags = [`--workspace ${config.workspace}`];
  if (config.bucketOrigin === 'flag') flags.push(`--bucket ${config.bucket}`);
  if (config.databaseUrl !== undefined) flags.push(`--database ${/:\/\/[^/@]*:[^/@]*@/.test(config.databaseUrl) ? "'<your --database URL>'" : config.databaseUrl}`);
  return { code, message, fix: `aqe-upload reconcile ${flags.join(' ')}` };
}

/**
 * An embedder chooser that loads the model on first use and keeps it (a failure is tried again
 * next time): for callers that push many times, like watch.
 */
export function keepEmbedder(choose: (env: EnvMap) => Promise<EmbedderChoice> = chooseEmbedder): (env: EnvMap) => Promise<EmbedderChoice> {
  let chosen: Promise<EmbedderChoice> | null = null;
  return (env) => {
    chosen ??= choose(env).catch((err: unknown) => {
      chosen = null;
      throw err;
    });
    return chosen;
  };
}
