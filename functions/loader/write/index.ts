// The load's write stage: what the orchestrator calls inside the snapshot's ONE transaction
// (lock, run record, per-table merge, state) and outside it (failure, quarantine).
export { type MergeTableRowsInput, type TableMergeCounts, addCounts, emptyCounts, mergeTableRows, searchTextHash } from './merge-table-rows.js';
export { type MergeSql, buildMergeSql } from './merge-sql.js';
export {
  type FinishRunInput,
  type QuarantineInput,
  type RunIdentity,
  type RunStatus,
  type SyncRun,
  type SyncStateInput,
  beginRun,
  findRunById,
  findRunByManifestSha,
  finishRun,
  lockEnvironment,
  recordQuarantine,
  recordRunFailure,
  totalCounts,
  updateSyncState,
} from './sync-runs.js';
