// The WRITE stage of a load: the whole snapshot in ONE transaction. Lock the environment, begin
// the run (the ledger's one retry rule), then per source file: skip it when its content was merged
// by a run that still stands, else read it (one source open at a time), merge each target table's
// rows (merge-table-rows.ts) and record its per-source state; finish the run with what it replaced
// in sync_state (for a rollback); COMMIT. Any error rolls everything back.

import { MAPPING_VERSION } from '../../../schema/sources/mappings/row-identity.js';
import type { CapturedSource } from '../../../schema/snapshot/manifest.js';
import { TARGET_TABLES, targetTable } from '../../../schema/tables/target-tables.js';
import type { Database, Queryable } from '../../db/database.js';
import { isLate } from '../policy/snapshot-clock.js';
import type { SourceReadResult } from '../read/source-read-result.js';
import { type RowSource, type TableMergeCounts, addCounts, emptyCounts, mergeTableRows } from './merge-table-rows.js';
import { type RunIdentity, RunLedger, type SourceState, type SyncRun } from './run-ledger.js';

/** One captured source of the snapshot, read only when the write reaches it. */
export interface SnapshotSource {
  source: CapturedSource;
  /** Opens the verified local copy (the READ stage); the write closes it. */
  read(): SourceReadResult;
}

export interface WriteSnapshotInput {
  run: RunIdentity & { orderedAt: Date };
  /** Recorded times beyond this are from a clock that ran ahead. */
  bound: Date;
  sources: readonly SnapshotSource[];
  /** The MAP stage: the rows a reader yields for one target table, ready to merge. */
  rowsFor(reader: SourceReadResult, target: string): RowSource;
  /** A reader warning in words. */
  describeWarning(path: string, warning: unknown): string;
  onProgress?: (done: number, total: number) => void;
}

export type WriteResult =
  | { status: 'written'; runId: number; tables: Record<string, TableMergeCounts>; warnings: string[] }
  /** The manifest's run was done by the time the environment's lock was taken (a concurrent loader). */
  | { status: 'done'; run: SyncRun };

/**
 * Writes one snapshot in one transaction of `db`.
 * @example const w = await writeSnapshot(db, { run, bound, sources, rowsFor: targetRows, describeWarning: formatWarning });
 */
export async function writeSnapshot(db: Database, input: WriteSnapshotInput): Promise<WriteResult> {
  const { run, bound } = input;
  const { env, orderedAt: orderAt } = run;
  return db.transaction(async (tx): Promise<WriteResult> => {
    const ledger = new RunLedger(tx);
    await ledger.lockEnvironment(env);
    // a concurrent loader may have finished the same manifest while we waited for the lock
    const begun = await ledger.begin(run);
    if (begun.status === 'done') return begun;
    const id = begun.runId;
    const tables: Record<string, TableMergeCounts> = {};
    const add = (key: string, counts: TableMergeCounts) => {
      tables[key] = addCounts(tables[key] ?? emptyCounts(), counts);
    };
    const warnings: string[] = [];
    // per source file: the newest snapshot loaded so far (a late, older one never decides presence)
    const seen = await ledger.sourceStates(env);
    const before = { ...seen };
    for (const [index, { source, read }] of input.sources.entries()) {
      input.onProgress?.(index, input.sources.length);
      const prev = seen[source.path];
      const late = isLate(prev?.snapshotAt, orderAt, bound);
      const entry: SourceState = { sourceId: source.sourceId, sha256: source.sha256, capturedAt: source.capturedAt };
      // The same file content was merged by a run that still stands, with the same mappings:
      // nothing can differ, so the rows are not read again (they all count as unchanged).
      if (!late && prev && (await unchangedSince(ledger, prev, entry))) {
        seen[source.path] = { ...prev, snapshotAt: orderAt.toISOString(), stateRunId: id };
        for (const [target, n] of Object.entries(prev.tables ?? {})) add(`${source.sourceId}/${target}`, { ...emptyCounts(), read: n, unchanged: n });
        continue;
      }
      // one source open at a time: its file is read (and a hostile one fails, rolling all back)
      // only now, so memory holds one source's reader whatever the snapshot's size
      const reader = read();
      try {
        const readCounts: Record<string, number> = {};
        // the mappings changed since this file was last merged: immutable rows take the new
        // reading, and rows a table no longer feeds are marked missing there
        const remap = !late && prev !== undefined && prev.mappingVersion !== MAPPING_VERSION;
        for (const target of reader.targetTables()) {
          const feeding = reader.parts.filter((p) => p.targetTable === target);
          // asked after the rows were read: a part whose read stopped short never marks rows missing
          const full = () => feeding.filter((p) => p.complete()).map((p) => p.sourceTable);
          const counts = await mergeTableRows(tx, {
            runId: id,
            env,
            sourceId: reader.sourceId,
            snapshotAt: orderAt,
            futureBound: bound,
            table: targetTable(target),
            rows: input.rowsFor(reader, target),
            fullSourceTables: full,
            late,
            remap,
          });
          add(`${reader.sourceId}/${target}`, counts);
          readCounts[target] = (readCounts[target] ?? 0) + counts.read;
        }
        if (remap) {
          for (const [target, n] of Object.entries(await markMovedRows(tx, { runId: id, env, reader }))) add(`${reader.sourceId}/${target}`, { ...emptyCounts(), missing: n });
        }
        if (!late) seen[reader.path] = { ...entry, runId: id, snapshotAt: orderAt.toISOString(), mappingVersion: MAPPING_VERSION, tables: readCounts, stateRunId: id };
        for (const w of reader.warnings) warnings.push(input.describeWarning(reader.path, w));
      } finally {
        reader.close();
      }
    }
    // what this run replaced in sync_state, for a rollback (null: the entry did not exist)
    const replaced: Record<string, SourceState | null> = {};
    for (const [path, e] of Object.entries(seen)) if (e !== before[path]) replaced[path] = before[path] ?? null;
    await ledger.finish(id, { status: 'succeeded', tables, warnings, stateBefore: { sources: replaced } });
    await ledger.saveState(env, { snapshotId: run.snapshotId, snapshotAt: orderAt, futureBound: bound, runId: id, success: true, sources: seen });
    return { status: 'written', runId: id, tables, warnings };
  });
}

/** true when `prev` (same sha256, same mappings) was merged by a run that still stands. */
async function unchangedSince(ledger: RunLedger, prev: SourceState, now: SourceState): Promise<boolean> {
  if (!prev.sha256 || prev.sha256 !== now.sha256 || prev.mappingVersion !== MAPPING_VERSION || !prev.tables || prev.runId === undefined) return false;
  return (await ledger.findById(prev.runId))?.status === 'succeeded';
}

/**
 * After a remap: the rows of this file's source tables that a target table holds but is no longer
 * fed by them (a table now modelled instead of landing in source_rows, say) are marked missing
 * there, with undo entries. Returns the rows marked per target table.
 */
async function markMovedRows(tx: Queryable, input: { runId: number; env: string; reader: SourceReadResult }): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const read = new Set(input.reader.parts.map((p) => p.sourceTable));
  for (const table of TARGET_TABLES) {
    const fed = new Set(input.reader.parts.filter((p) => p.targetTable === table.name).map((p) => p.sourceTable));
    const moved = [...read].filter((s) => !fed.has(s));
    if (moved.length === 0) continue;
    const res = await tx.query<{ n: number | string }>(
      `WITH m AS (
         UPDATE aqe.${table.name} t SET missing_since = now()
          WHERE t.source_env = $1 AND t.source_id = $2 AND t.source_table = ANY($3::text[]) AND t.missing_since IS NULL
         RETURNING t.source_table, t.source_key
       ), undo AS (
         INSERT INTO aqe.undo_log (run_id, table_name, source_env, source_id, source_table, source_key, op, pre_image)
         SELECT $4::bigint, $5::text, $1::text, $2::text, m.source_table, m.source_key, 'missing', NULL FROM m
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM m) AS n`,
      [input.env, input.reader.sourceId, moved, String(input.runId), table.name],
    );
    const n = Number(res.rows[0]?.n ?? 0);
    if (n > 0) out[table.name] = n;
  }
  return out;
}
