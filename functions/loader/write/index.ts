// The load's write stage: the snapshot's ONE transaction (write-snapshot.ts: lock, run, per-table
// merge, state), the bookkeeping it writes through (run-ledger.ts) and quarantine.
export { type MergeTableRowsInput, type TableMergeCounts, addCounts, emptyCounts, mergeTableRows, searchTextHash } from './merge-table-rows.js';
export { type MergeSql, buildMergeSql } from './merge-sql.js';
export {
  type BeginResult,
  type FinishRunInput,
  type QuarantineInput,
  type RunIdentity,
  type RunStatus,
  type SourceState,
  type SourceStates,
  type SyncRun,
  type SyncStateInput,
  isSettled,
  needsLoad,
  RunLedger,
  totalCounts,
} from './run-ledger.js';
export { isQuarantinable, QUARANTINE_CODES, type QuarantinedSnapshot, quarantineSnapshot } from './quarantine-snapshot.js';
export { type SnapshotSource, type WriteResult, writeSnapshot } from './write-snapshot.js';
