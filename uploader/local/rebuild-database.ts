// Rebuilds an embedded (PGlite) database from a bucket's snapshots: under the folder's lock the
// old folder is moved aside (kept, never deleted), a fresh one is created, and every snapshot is
// loaded in the order it was taken (all environments), exactly what the loads did the first time;
// then new text is embedded within a budget. Everything the database held came from those
// snapshots, so nothing is lost (snapshots already removed by retention excepted).

import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import type { DatabaseConnection } from '../../functions/db/database.js';
import { backfillEmbeddings, type BackfillResult } from '../../functions/embed/backfill-embeddings.js';
import { ensureMigrated } from '../../functions/db/migrate.js';
import { runLoad } from '../../functions/loader/load-snapshot.js';
import { RunLedger } from '../../functions/loader/write/run-ledger.js';
import type { BlobStore } from '../../functions/storage/blob-store.js';
import { AppError } from '../../schema/errors.js';
import { bucketSnapshots } from '../../functions/storage/bucket-snapshots.js';
import { withOpenDatabase } from './local-database.js';
import type { EmbedderChoice } from './local-sync.js';

export interface RebuildOptions {
  /** pglite://<folder> */
  databaseUrl: string;
  dataDir: string;
  store: BlobStore;
  /** The embedder for the end (null: rows stay pending). */
  embedder: () => Promise<EmbedderChoice | null>;
  embedBudgetMs: number;
  now?: () => Date;
  onProgress?: (p: { done: number; total: number; manifestKey: string }) => void;
}

export interface RebuildResult {
  database: string;
  bucket: string;
  /** Where the previous folder was moved (null: there was none). */
  previousFolder: string | null;
  snapshots: number;
  loaded: number;
  duplicate: number;
  quarantined: Array<{ manifestKey: string; code: string; reason: string }>;
  failed: Array<{ manifestKey: string; code: string; message: string }>;
  rows: number;
  embedding: BackfillResult | null;
  durationMs: number;
}

/**
 * Rebuilds the folder. Throws (changing nothing) when the bucket holds no snapshot.
 * @example const r = await rebuildDatabase({ databaseUrl, dataDir, store, embedder: async () => null, embedBudgetMs: 0 })
 */
export async function rebuildDatabase(options: RebuildOptions): Promise<RebuildResult> {
  const started = performance.now();
  const byEnv = await bucketSnapshots(options.store);
  // Time order across environments: each environment's snapshots in the order they were taken.
  const manifests = [...byEnv.values()].flat().sort((a, b) => (a.snapshotId < b.snapshotId ? -1 : a.snapshotId > b.snapshotId ? 1 : a.key.localeCompare(b.key)));
  if (manifests.length === 0) {
    throw new AppError('USAGE', `${options.store.url} holds no snapshot to rebuild ${options.dataDir} from; the folder was left as it is\nTry: aqe-upload snapshots --bucket ${options.store.url}`);
  }
  const stamp = (options.now?.() ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  let previousFolder: string | null = null;
  const result: RebuildResult = {
    database: options.databaseUrl,
    bucket: options.store.url,
    previousFolder: null,
    snapshots: manifests.length,
    loaded: 0,
    duplicate: 0,
    quarantined: [],
    failed: [],
    rows: 0,
    embedding: null,
    durationMs: 0,
  };
  await withOpenDatabase(
    options.databaseUrl,
    async (connection: DatabaseConnection) => {
      const db = await ensureMigrated(connection);
      for (const [i, m] of manifests.entries()) {
        options.onProgress?.({ done: i, total: manifests.length, manifestKey: m.key });
        const outcome = await runLoad({ store: options.store, db }, m.key);
        if (outcome.status === 'loaded') result.loaded++;
        else if (outcome.status === 'duplicate') result.duplicate++;
        else if (outcome.status === 'quarantined') result.quarantined.push({ manifestKey: m.key, code: outcome.code, reason: outcome.reason });
        // one snapshot that cannot be loaded now (a blob missing, a transient error) does not stop the rest
        else result.failed.push({ manifestKey: m.key, code: outcome.code, message: outcome.reason });
      }
      options.onProgress?.({ done: manifests.length, total: manifests.length, manifestKey: '' });
      result.rows = await new RunLedger(db).rowsRead();
      const choice = options.embedBudgetMs > 0 ? await options.embedder() : null;
      if (choice !== null) {
        result.embedding = await backfillEmbeddings(db, {
          embedder: choice.embedder,
          budgetMs: options.embedBudgetMs,
          ...(choice.reason ? { unavailableReason: choice.reason } : {}),
        });
      }
    },
    {
      beforeOpen: async (dataDir) => {
        if (!existsSync(dataDir)) return;
        previousFolder = `${dataDir.replace(/\/+$/, '')}.before-rebuild-${stamp}`;
        await rename(dataDir, previousFolder);
      },
    },
  );
  result.previousFolder = previousFolder;
  result.durationMs = Math.round(performance.now() - started);
  return result;
}
