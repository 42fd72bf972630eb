// Local mode glue: the embedded default database (PGlite + pgvector under the workspace), the
// embedder from AQE_MODEL_DIR (or none, with one warning), and the in-process load after a push.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError, isAppError } from '../../schema/errors.js';
import type { Database } from '../../functions/db/database.js';
import type { VectorDialect } from '../../functions/db/dialect.js';
import { openDatabase } from '../../functions/db/open-database.js';
import { type Embedder, loadEmbedder } from '../../functions/embed/embedder.js';
import { ensureMigrated, type LoadOutcome, loadSnapshot } from '../../functions/loader/load-snapshot.js';
import type { Logger } from '../../functions/observability/logger.js';
import { openBlobStore } from '../../functions/storage/open-blob-store.js';
import { type EnvMap, LOCAL_LOAD_LIMITS, storeOptions } from '../config.js';
import type { LoadLimits } from '../../functions/loader/load-limits.js';

export const WORKSPACE_DB_DIR = join('.aqe-sync', 'db');

/** The embedded database of a workspace: pglite://<workspace>/.aqe-sync/db */
export function defaultDatabaseUrl(workspace: string): string {
  return `pglite://${join(workspace, WORKSPACE_DB_DIR)}`;
}

/** Opens and migrates a database; the caller closes it. */
export async function openMigratedDatabase(url: string): Promise<{ db: Database; dialect: VectorDialect }> {
  const db = await openDatabase(url);
  try {
    return { db, dialect: await ensureMigrated(db) };
  } catch (err) {
    await db.close();
    throw err;
  }
}

/** Runs `fn` with an open, migrated database, always closing it. */
export async function withDatabase<T>(url: string, fn: (db: Database, dialect: VectorDialect) => Promise<T>): Promise<T> {
  const { db, dialect } = await openMigratedDatabase(url);
  try {
    return await fn(db, dialect);
  } finally {
    await db.close();
  }
}

/**
 * The stand-in model shipped for the demo and tests: bag-of-words vectors. Its vectors are
 * labelled by its fingerprint (STANDIN_MODEL_ID), never as the real model's.
 */
export const STANDIN_MODEL_DIR = [
  new URL('../../test/fixtures/models/all-MiniLM-L6-v2-standin', import.meta.url), // from source (uploader/local)
  new URL('../../../test/fixtures/models/all-MiniLM-L6-v2-standin', import.meta.url), // from dist/uploader/local
]
  .map((u) => fileURLToPath(u))
  .find((dir) => existsSync(dir)) ?? fileURLToPath(new URL('../../test/fixtures/models/all-MiniLM-L6-v2-standin', import.meta.url));
/** The label the stand-in's vectors get: `sha256:` and the first 16 hex of its files' fingerprint (model-identity.ts). */
export const STANDIN_MODEL_ID = 'sha256:846083dab7574b30';

export interface EmbedderChoice {
  embedder: Embedder | null;
  /** Why there is none (MODEL_UNAVAILABLE message), for the one warning. */
  reason?: string;
}

/**
 * The embedder for CLI work: AQE_MODEL_DIR when set; else the library's download (which fails
 * fast offline). Never throws for an unavailable model: returns null + reason (sync completes,
 * rows stay pending). A model of the wrong dimension is refused (that is a configuration error).
 */
export async function chooseEmbedder(env: EnvMap, options: { modelDir?: string; modelId?: string } = {}): Promise<EmbedderChoice> {
  const modelDir = options.modelDir ?? env['AQE_MODEL_DIR'];
  try {
    const embedder = await loadEmbedder({
      ...(modelDir ? { modelDir } : {}),
      ...(options.modelId ? { modelId: options.modelId } : {}),
      probeTimeoutMs: 3000,
    });
    return { embedder };
  } catch (err) {
    if (isAppError(err, 'MODEL_UNAVAILABLE')) return { embedder: null, reason: err.message };
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

/** Parses a --budget value in seconds. */
export function parseSeconds(value: string | undefined, fallback: number, flag = '--budget'): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new AppError('USAGE', `${flag} ${value}: expected a number of seconds >= 0\nTry: aqe-upload embed ${flag} 120`);
  return n;
}
