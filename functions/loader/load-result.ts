// What a load takes (its dependencies and options) and comes back with: a discriminated result,
// one variant per way a delivery ends (loaded, acknowledged as a duplicate, quarantined, failed),
// and the progress it reports.

import type { ErrorCode } from '../../schema/errors.js';
import type { DatabaseConnection } from '../db/database.js';
import type { Embedder } from '../embed/embedder.js';
import type { Logger } from '../observability/logger.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { LoadLimits } from './policy/load-limits.js';
import type { BackfillResult } from '../embed/backfill-embeddings.js';
import type { TableMergeCounts } from './write/merge-table-rows.js';
import type { QuarantinedSnapshot } from './write/quarantine-snapshot.js';

export interface EmbeddingStage {
  /** null when no model could be loaded: rows stay pending, one warning. */
  embedder: Embedder | null;
  unavailableReason?: string;
  budgetMs: number;
}

export interface LoaderDeps {
  store: BlobStore;
  db: DatabaseConnection;
  log?: Logger;
  /** Omit to skip the embedding stage (rows stay pending for reconcile / `aqe-upload embed`). */
  embedding?: EmbeddingStage;
  /** Scratch directory for verified blob copies (default: the OS temp dir). */
  tmpDir?: string;
  /** The loader's clock (default: the system clock). */
  now?: () => Date;
  /** How far a manifest's clock (and a recorded time) may run ahead before it is refused / unknown (default 5 minutes). */
  clockSkewToleranceMs?: number;
  /** Bytes per source and per snapshot, and sources per snapshot, one load may expand (default: DEFAULT_LOAD_LIMITS). */
  limits?: Partial<LoadLimits>;
  /** Progress of the long steps (a CLI's progress line; never part of the outcome). */
  onProgress?: (p: LoadProgress) => void;
}

/** Where a load is: blobs verified, source files merged (`done` of `total`), new text embedded. */
export interface LoadProgress {
  phase: 'verify' | 'merge' | 'embed';
  done: number;
  total: number;
}

export interface LoadedSnapshot {
  status: 'loaded';
  manifestKey: string;
  manifestSha: string;
  runId: number;
  env: string;
  snapshotId: string;
  totals: TableMergeCounts;
  /** Counts per `<sourceId>/<target table>`. */
  tables: Record<string, TableMergeCounts>;
  warnings: string[];
  embedding: BackfillResult | null;
  durationMs: number;
}

export interface DuplicateSnapshot {
  status: 'duplicate';
  manifestKey: string;
  manifestSha: string;
  runId: number;
  previousStatus: string;
}

/** A load that did not happen: `recorded` when the ledger holds the run as `failed` (a terminal, non-content error). */
export interface FailedLoad {
  status: 'failed';
  manifestKey: string;
  env: string;
  snapshotId: string;
  code: ErrorCode;
  reason: string;
  /** A retry (redelivery, reconcile) can succeed. */
  transient: boolean;
  recorded: boolean;
  /** What was thrown, as it was (loadSnapshot rethrows it). */
  error: unknown;
}

export type { QuarantinedSnapshot };
export type LoadResult = LoadedSnapshot | DuplicateSnapshot | QuarantinedSnapshot | FailedLoad;
/** What loadSnapshot returns (a failure is thrown). */
export type LoadOutcome = Exclude<LoadResult, FailedLoad>;

