// One push, and with a local bucket the load of the snapshot it committed into the local database
// (what `push` and every push of `watch` do). Everything the load needs is checked before the push
// writes anything; a load that fails after the commit is returned as pending, never lost: the
// snapshot is in the bucket and `reconcile` (or `rebuild`) loads it.

import type { LoadOutcome, LoadProgress } from '../../functions/loader/load-snapshot.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import { redactSecrets } from '../../schema/redact.js';
import type { UploaderConfig } from '../config.js';
import type { PushOptions, PushResult } from '../push/run-push.js';
import { runPush } from '../push/run-push.js';
import { pgliteDataDir, rebuildHint } from './local-database.js';
import type { EmbedderChoice } from './local-sync.js';
import { chooseEmbedder, runLocalLoad } from './local-sync.js';

export interface PushAndLoadOptions extends Omit<PushOptions, 'config'> {
  /** The embedding budget, model folder and load limits come from `config.settings`. */
  config: Pick<UploaderConfig, 'workspace' | 'env' | 'bucket' | 'sources' | 'exclude' | 'localBucket' | 'database' | 'settings'> & Partial<Pick<UploaderConfig, 'storageRetries' | 'bucketOrigin' | 'host'>>;
  /** false: a pure push even with a local bucket (--no-load). */
  load: boolean;
  /** The embedder for the load (default: chosen from the settings); a long-running caller passes a memo so the model loads once. */
  embedder?: (settings: { modelDir?: string | undefined }) => Promise<EmbedderChoice>;
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
 * committed, in this process, into `config.database` (by default the workspace's embedded PGlite).
 * A quarantined load is returned, not thrown: the snapshot is committed either way; so is a load
 * that could not run (database unreachable, busy or damaged): `pendingLoad` says how to finish it.
 * @example const { push, load, pendingLoad } = await pushAndLoad({ config, load: true })
 */
export async function pushAndLoad(options: PushAndLoadOptions): Promise<PushAndLoadResult> {
  const { config, load: wantLoad, embedder = chooseEmbedder, onLoading, onLoadProgress, ...pushOptions } = options;
  const willLoad = config.localBucket && wantLoad && pushOptions.dryRun !== true;
  // The budget and the URL were checked with the configuration, before the first byte is written.
  const budget = willLoad ? config.settings.embedBudgetSeconds : 0;
  const databaseUrl = config.database.url;

  const push = await runPush({ ...pushOptions, config });
  if (!willLoad || push.manifestKey === null || !push.manifestWritten) return { push, load: null, pendingLoad: null };
  onLoading?.();
  try {
    const load = await runLocalLoad({
      bucket: config.bucket,
      manifestKey: push.manifestKey,
      databaseUrl,
      embedder: budget > 0 ? await embedder(config.settings) : null,
      embedBudgetMs: budget * 1000,
      storageRetries: config.storageRetries,
      loadLimits: config.settings.loadLimits,
      ...(onLoadProgress ? { onProgress: onLoadProgress } : {}),
    });
    return { push, load, pendingLoad: null };
  } catch (err) {
    return { push, load: null, pendingLoad: pendingLoadOf(err, config) };
  }
}

/** The pending load for a load error after the commit (pure). */
export function pendingLoadOf(err: unknown, config: Pick<UploaderConfig, 'workspace' | 'bucket' | 'database'> & Partial<Pick<UploaderConfig, 'bucketOrigin'>>): PendingLoad {
  const databaseUrl = config.database.url;
  const code = err instanceof AppError ? err.code : 'INTERNAL';
  const message = redactSecrets(errorMessage(err));
  const dataDir = pgliteDataDir(databaseUrl);
  if (code === 'DB_DAMAGED' && dataDir !== null) return { code, message, fix: `${rebuildHint(dataDir)}${config.bucketOrigin === 'flag' ? ` --bucket ${config.bucket}` : ''}` };
  const flags = [`--workspace ${config.workspace}`];
  if (config.bucketOrigin === 'flag') flags.push(`--bucket ${config.bucket}`);
  if (config.database.origin !== 'default') flags.push(`--database ${/:\/\/[^/@]*:[^/@]*@/.test(databaseUrl) ? "'<your --database URL>'" : databaseUrl}`);
  return { code, message, fix: `aqe-upload reconcile ${flags.join(' ')}` };
}

/**
 * An embedder chooser that loads the model on first use and keeps it (a failure is tried again
 * next time): for callers that push many times, like watch.
 */
export function keepEmbedder(choose: (settings: { modelDir?: string | undefined }) => Promise<EmbedderChoice> = chooseEmbedder): (settings: { modelDir?: string | undefined }) => Promise<EmbedderChoice> {
  let chosen: Promise<EmbedderChoice> | null = null;
  return (settings) => {
    chosen ??= choose(settings).catch((err: unknown) => {
      chosen = null;
      throw err;
    });
    return chosen;
  };
}
