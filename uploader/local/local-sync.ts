// Local mode glue: the embedded default database (PGlite + pgvector under the workspace, held by
// one process at a time: local-database.ts), the embedder from AQE_MODEL_DIR (or none, with one
// warning), and the in-process load after a push.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AppError, isAppError } from '../../schema/errors.js';
import type { Database } from '../../functions/db/database.js';
import { type Embedder, loadEmbedder } from '../../functions/embed/embedder.js';
import { ensureMigrated } from '../../functions/db/migrate.js';
import { type LoadOutcome, type LoadProgress, loadSnapshot } from '../../functions/loader/load-snapshot.js';
import type { Logger } from '../../functions/observability/logger.js';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { LOCAL_LOAD_LIMITS, storeOptions } from '../config.js';
import type { LoadLimits } from '../../functions/loader/policy/load-limits.js';
import { withOpenDatabase } from './local-database.js';

export { WORKSPACE_DB_DIR, defaultDatabaseUrl } from '../config/database-url.js';

/**
 * Runs `fn` with an open, migrated database (carrying its dialect), always closing it. The
 * embedded (PGlite) folder is held by this process only for this span (local-database.ts: lock,
 * damage check).
 */
export async function withDatabase<T>(url: string, fn: (db: Database) => Promise<T>): Promise<T> {
  return withOpenDatabase(url, async (connection) => fn(await ensureMigrated(connection)));
}

/**
 * The stand-in model shipped for the demo and tests: bag-of-words vectors. Its vectors are
 * labelled by its fingerprint (STANDIN_MODEL_ID), never as the real model's.
 */
export const STANDIN_MODEL_DIR = [
  new URL('../../assets/models/all-MiniLM-L6-v2-standin', import.meta.url), // from source (uploader/local)
  new URL('../../../assets/models/all-MiniLM-L6-v2-standin', import.meta.url), // from dist/uploader/local
]
  .map((u) => fileURLToPath(u))
  .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../../assets/models/all-MiniLM-L6-v2-standin', import.meta.url));
/** The label the stand-in's vectors get: `sha256:` and the first 16 hex of its files' fingerprint (model-identity.ts). */
export const STANDIN_MODEL_ID = 'sha256:846083dab7574b30';

export interface EmbedderChoice {
  embedder: Embedder | null;
  /** Why there is none, in a few words (for the one-line warning; the full message is in `detail`). */
  reason?: string;
  /** The full MODEL_UNAVAILABLE message (with how to provide the model). */
  detail?: string;
}

/** The one-line "no model" warning of a command, with the fix. */
export function noModelWarning(reason: string | undefined, consequence: string): string {
  return `no embedding model (${reason ?? 'unavailable'}): ${consequence}. Fix: set AQE_MODEL_DIR to a folder of Xenova/all-MiniLM-L6-v2 (README: Embeddings and search)`;
}

/** A few words on why the model is unavailable, from its MODEL_UNAVAILABLE error. */
export function shortModelReason(err: AppError): string {
  const d = err.details ?? {};
  if (typeof d['probeUrl'] === 'string') return `AQE_MODEL_DIR not set, ${new URL(d['probeUrl']).host} unreachable`;
  if (Array.isArray(d['missing'])) return `AQE_MODEL_DIR lacks ${(d['missing'] as string[]).join(', ')}`;
  if (typeof d['modelDir'] === 'string') return `AQE_MODEL_DIR ${d['modelDir']} is not a folder`;
  const first = err.message.split('. ')[0] ?? err.message;
  return first.length > 120 ? `${first.slice(0, 119)}…` : first;
}

/**
 * The embedder for CLI work: the configured model folder (AQE_MODEL_DIR, `settings.modelDir`) when
 * set; else the library's download (which fails fast offline). Never throws for an unavailable
 * model: returns null + reason (sync completes, rows stay pending). A model of the wrong dimension
 * is refused (that is a configuration error). `options.modelDir` overrides the setting (the demo's stand-in).
 * @example await chooseEmbedder(config) // config.modelDir from AQE_MODEL_DIR
 */
export async function chooseEmbedder(settings: { modelDir?: string | undefined }, options: { modelDir?: string; modelId?: string } = {}): Promise<EmbedderChoice> {
  const modelDir = options.modelDir ?? settings.modelDir;
  try {
    const embedder = await loadEmbedder({
      ...(modelDir ? { modelDir } : {}),
      ...(options.modelId ? { modelId: options.modelId } : {}),
      probeTimeoutMs: 3000,
    });
    return { embedder };
  } catch (err) {
    if (isAppError(err, 'MODEL_UNAVAILABLE')) return { embedder: null, reason: shortModelReason(err), detail: err.message };
    throw err;
  }
}

export interface LocalLoadOptions {
  bucket: string;
  manifestKey: string;
  databaseUrl: string;
  embedder: EmbedderChoice | null;
  embedBudgetMs: number;
  log?: Logger;
  /** AQE_STORAGE_RETRIES (undefined: the default budget). */
  storageRetries?: number | undefined;
  /** What the load may expand (default LOCAL_LOAD_LIMITS: a local scratch folder is on disk). */
  loadLimits?: LoadLimits;
  onProgress?: (p: LoadProgress) => void;
}

/** Loads one snapshot from a bucket into a database in this process (what the Cloud Function does). */
export async function runLocalLoad(options: LocalLoadOptions): Promise<LoadOutcome> {
  const store = await openBlobStore(options.bucket, storeOptions(options.storageRetries));
  return withDatabase(options.databaseUrl, (db) =>
    loadSnapshot(
      {
        store,
        db,
        limits: options.loadLimits ?? LOCAL_LOAD_LIMITS,
        ...(options.log ? { log: options.log } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
        ...(options.embedder
          ? {
              embedding: {
                embedder: options.embedder.embedder,
                budgetMs: options.embedBudgetMs,
                ...(options.embedder.reason ? { unavailableReason: options.embedder.reason } : {}),
              },
            }
          : {}),
      },
      options.manifestKey,
    ),
  );
}

/** Parses a --budget value (or a variable such as AQE_EMBED_BUDGET_SECONDS) in seconds; the Try line runs `command`. */
export function parseSeconds(value: string | undefined, fallback: number, flag = '--budget', command = 'embed'): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    const example = flag.startsWith('--') ? `aqe-upload ${command} ${flag} 120` : `${flag}=120 aqe-upload ${command}`;
    throw new AppError('USAGE', `${flag} ${value}: expected a number of seconds >= 0\nTry: ${example}`);
  }
  return n;
}
