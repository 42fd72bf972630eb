// The shape every source reader returns: one part per (source table or collection → target
// table), each a lazily read row stream, plus counts, warnings and what was skipped.

import type { ReadWarning } from '../../../schema/sources/mappings/map-context.js';
import type { WarningLog, WarningMark } from '../../../schema/sources/mappings/map-context.js';
import type { TargetRow } from '../../../schema/tables/target-tables.js';

/** Rows of one part: synchronous for SQLite/JSON, asynchronous for redb. Consume with `for await`. */
export type RowStream = Iterable<TargetRow> | AsyncIterable<TargetRow>;

/** One source table (or JSON collection) feeding one target table. */
export interface SourcePart {
  sourceTable: string;
  targetTable: string;
  /** Mapping variant used (`memory_entries/claude-flow`, `source_rows`, …). */
  mapping: string;
  /**
   * Streams the rows (re-readable: each call reads the source again). SQLite parts share one
   * connection: consume one part at a time.
   */
  rows(): RowStream;
  /**
   * After a read: whether it yielded every row of the source table. False for a read that stopped
   * short (a redb file the extractor could not read to the end): such a read never marks rows
   * missing, and verify reports it as an incomplete read.
   */
  complete(): boolean;
}

export interface TableCount {
  sourceTable: string;
  targetTable: string;
  rows: number;
}

export interface SkippedTable {
  name: string;
  reason: string;
}

export interface SourceReadResult {
  sourceId: string;
  /** The source path as captured (relative to the workspace). */
  path: string;
  parts: readonly SourcePart[];
  /** Target tables this source feeds, in part order, without duplicates. */
  targetTables(): string[];
  /**
   * Every row for one target table (the parts feeding it, one after the other): a plain Iterable
   * when every such part is synchronous (SQLite, JSON), so no microtask is spent per row.
   */
  rows(targetTable: string): RowStream;
  /** Rows yielded per part by the last complete read of each part (0 before reading). */
  tables(): TableCount[];
  /** Aggregated warnings so far (NUL stripped, implausible timestamps kept raw, …). */
  readonly warnings: ReadWarning[];
  /** Tables deliberately not read (SQLite internals, FTS virtual and shadow tables). */
  skipped: readonly SkippedTable[];
  /** Releases the file (SQLite connection, temporary copies). Idempotent. */
  close(): void;
}

/** Assembles a SourceReadResult from parts; counts rows as they stream. */
export function sourceReadResult(init: {
  sourceId: string;
  path: string;
  /** `async`: read() returns an AsyncIterable (the others must return a plain Iterable). */
  parts: ReadonlyArray<{ sourceTable: string; targetTable: string; mapping: string; read: () => RowStream; async?: boolean; complete?: () => boolean }>;
  warnings: WarningLog;
  skipped?: SkippedTable[];
  close?: () => void;
}): SourceReadResult {
  const counts = new Map<SourcePart, number>();
  // a part read again (the loader re-reads a source whose direct COPY met a duplicate key) must
  // not count its warnings twice: they go back to how they were before its first read
  const marks = new Map<SourcePart, WarningMark>();
  let closed = false;
  const parts: SourcePart[] = init.parts.map((p) => {
    const part: SourcePart = {
      sourceTable: p.sourceTable,
      targetTable: p.targetTable,
      mapping: p.mapping,
      rows: () => {
        const mark = marks.get(part);
        if (mark === undefined) marks.set(part, init.warnings.mark(p.sourceTable));
        else init.warnings.restore(mark);
        return counted(part, p.read());
      },
      complete: () => p.complete?.() ?? true,
    };
    counts.set(part, 0);
    return part;
  });
  function counted(part: SourcePart, stream: RowStream): RowStream {
    if (Symbol.asyncIterator in stream) {
      return (async function* () {
        let n = 0;
        for await (const row of stream) {
          n++;
          yield row;
        }
        counts.set(part, n);
      })();
    }
    return (function* () {
      let n = 0;
      for (const row of stream) {
        n++;
        yield row;
      }
      counts.set(part, n);
    })();
  }
  return {
    sourceId: init.sourceId,
    path: init.path,
    parts,
    targetTables: () => [...new Set(parts.map((p) => p.targetTable))],
    rows: (targetTable: string): RowStream => {
      const mine = parts.filter((p) => p.targetTable === targetTable);
      if (init.parts.some((p, i) => p.async === true && parts[i]?.targetTable === targetTable)) {
        return (async function* () {
          for (const p of mine) yield* p.rows();
        })();
      }
      return (function* () {
        for (const p of mine) {
          const stream = p.rows();
          if (Symbol.asyncIterator in stream) throw new Error(`source part ${p.sourceTable} returned async rows without declaring async: true`);
          yield* stream;
        }
      })();
    },
    tables: () => parts.map((p) => ({ sourceTable: p.sourceTable, targetTable: p.targetTable, rows: counts.get(p) ?? 0 })),
    get warnings() {
      return init.warnings.list();
    },
    skipped: init.skipped ?? [],
    close: () => {
      if (closed) return;
      closed = true;
      init.close?.();
    },
  };
}

/** Reads every part fully (tests, small sources): rows grouped by target table. */
export async function collectRows(result: SourceReadResult): Promise<Map<string, TargetRow[]>> {
  const out = new Map<string, TargetRow[]>();
  for (const p of result.parts) {
    const list = out.get(p.targetTable) ?? [];
    for await (const row of p.rows()) list.push(row);
    out.set(p.targetTable, list);
  }
  return out;
}
