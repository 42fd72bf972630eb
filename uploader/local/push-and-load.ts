// One push, and with a local bucket the load of the snapshot it committed into the local database
// (what `push` and every push of `watch` do).

import type { LoadOutcome } from '../../functions/loader/load-snapshot.js';
import { type EnvMap, parseLoadLimits, type UploaderConfig } from '../config.js';
import type { PushOptions, PushResult } from '../push/run-push.js';
import { runPush } from '../push/run-push.js';
import type { EmbedderChoice } from './local-sync.js';
import { chooseEmbedder, defaultDatabaseUrl, parseSeconds, runLocalLoad } from './local-sync.js';

export interface PushAndLoadOptions extends Omit<PushOptions, 'config'> {
  config: Pick<UploaderConfig, 'workspace' | 'env' | 'bucket' | 'sources' | 'exclude' | 'localBucket' | 'databaseUrl'> & Partial<Pick<UploaderConfig, 'storageRetries'>>;
  /** false: a pure push even with a local bucket (--no-load). */
  load: boolean;
  /** AQE_EMBED_BUDGET_SECONDS and AQE_MODEL_DIR are read from here. */
  env: EnvMap;
  /** The embedder for the load (default: chosen from `env`); a long-running caller passes a memo so the model loads once. */
  embedder?: (env: EnvMap) => Promise<EmbedderChoice>;
  /** Called when the load starts (progress display). */
  onLoading?: () => void;
}

export interface PushAndLoadResult {
  push: PushResult;
  /** The load of the committed snapshot, or null (not a local bucket, --no-load, dry run, nothing written). */
  load: LoadOutcome | null;
}

/**
 * Pushes the workspace; with a local bucket (the embedded default) loads the snapshot just
 * committed, in this process, into `config.databaseUrl` or the workspace's embedded PGlite.
 * A quarantined load is returned, not thrown: the snapshot is committed either way.
 * @example const { push, load } = await pushAndLoad({ config, load: true, env: io.env })
 */
export async function pushAndLoad(options: PushAndLoadOptions): Promise<PushAndLoadResult> {
  const { config, load: wantLoad, env, embedder = chooseEmbedder, onLoading, ...pushOptions } = options;
  const push = await runPush({ ...pushOptions, config });
  if (!config.localBucket || !wantLoad || push.manifestKey === null || !push.manifestWritten) return { push, load: null };
  const budget = parseSeconds(env['AQE_EMBED_BUDGET_SECONDS'], 60, 'AQE_EMBED_BUDGET_SECONDS');
  onLoading?.();
  const load = await runLocalLoad({
    bucket: config.bucket,
    manifestKey: push.manifestKey,
    databaseUrl: config.databaseUrl ?? defaultDatabaseUrl(config.workspace),
    embedder: budget > 0 ? await embedder(env) : null,
    embedBudgetMs: budget * 1000,
    storageRetries: config.storageRetries,
    loadLimits: parseLoadLimits(env).value,
  });
  return { push, load };
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
