// The MAP stage of a load, between reading a source and merging its rows: what a reader yields for
// one target table, completed with the row's search text (the table's text recipe) where the
// table is embedded, and a reader's warnings in words. Pure: no I/O beyond the reader's own.

import { searchTextFor } from '../../../schema/sources/recipes.js';
import type { TargetRow } from '../../../schema/tables/target-tables.js';
import { targetTable } from '../../../schema/tables/target-tables.js';
import type { RowStream, SourceReadResult } from '../read/source-read-result.js';

/**
 * The rows `reader` yields for `target`, as a function that reads them (again) from the start: the
 * merge may read them twice (a direct COPY that falls back to staging, merge-table-rows.ts).
 * @example const rows = targetRows(reader, 'patterns'); for (const row of rows()) …
 */
export function targetRows(reader: SourceReadResult, target: string): () => RowStream {
  const embedded = targetTable(target).embedded;
  return () => (embedded ? withSearchText(reader.rows(target), target) : reader.rows(target));
}

/** `rows` with each row's search text filled from the table's recipe (kept when the reader set it). */
export function withSearchText(rows: RowStream, table: string): RowStream {
  const fill = (row: TargetRow) => {
    if (row.searchText === undefined) row.searchText = searchTextFor(table, row.values, row);
    return row;
  };
  if (Symbol.asyncIterator in rows) {
    return (async function* () {
      for await (const row of rows) yield fill(row);
    })();
  }
  return (function* () {
    for (const row of rows) yield fill(row);
  })();
}

/** A reader's warning as one line naming the source path. */
export function formatWarning(path: string, w: unknown): string {
  if (w && typeof w === 'object' && 'message' in w) return `${path}: ${String((w as { message: unknown }).message)}`;
  return `${path}: ${JSON.stringify(w)}`;
}
