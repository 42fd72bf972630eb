// What a mapping needs besides the row: the file it came from (for messages), limits, and a place to
// count what was changed on the way (NUL stripped, implausible timestamps kept raw). Pure.

import { AppError } from '../../errors.js';

/** Largest single value (TEXT, BLOB, JSON string) accepted: bigger ones are refused, naming the row. */
export const MAX_VALUE_BYTES = 8 * 1024 * 1024;
/** Deepest JSON nesting accepted in JSON files. */
export const MAX_JSON_DEPTH = 256;

export type WarningKind =
  /** NUL characters removed from text (PostgreSQL text/jsonb cannot hold them). */
  | 'nul-stripped'
  /** A value in a timestamp column that is not a date between 2000 and 2100: NULL in the column, raw value in `extra.$raw`. */
  | 'implausible-timestamp'
  /** A value whose storage class does not fit the modelled column type: NULL in the column, raw value in `extra.$raw`. */
  | 'type-mismatch'
  /** Text that looked like JSON but was kept as a JSON string (non-finite number, too deep…). */
  | 'json-kept-as-text'
  /** A primary key part was NULL: the row got a key derived from its content. */
  | 'derived-key'
  /** Something about the source as a whole (e.g. a redb file read only in part). */
  | 'source';

export interface ReadWarning {
  kind: WarningKind;
  sourceTable: string;
  column?: string;
  /** How many values (or characters for `nul-stripped`) were affected. */
  count: number;
  /** One example: a row key and/or value, for the report. */
  example?: string;
  message: string;
}

/** Aggregates warnings per (kind, table, column) so a million NULs make one line. */
export class WarningLog {
  private readonly byKey = new Map<string, ReadWarning>();

  add(kind: WarningKind, sourceTable: string, column: string | undefined, count: number, example?: string): void {
    const key = `${kind}\u0001${sourceTable}\u0001${column ?? ''}`;
    const found = this.byKey.get(key);
    if (found) {
      found.count += count;
      found.message = describe(found);
      return;
    }
    const w: ReadWarning = { kind, sourceTable, count, message: '' };
    if (column !== undefined) w.column = column;
    if (example !== undefined) w.example = example.length > 200 ? `${example.slice(0, 200)}…` : example;
    w.message = describe(w);
    this.byKey.set(key, w);
  }

  list(): ReadWarning[] {
    return [...this.byKey.values()];
  }

  /** One source table's warnings as they are now, to {@link restore} before that table is read again. */
  mark(sourceTable: string): WarningMark {
    const saved = new Map<string, ReadWarning>();
    for (const [k, w] of this.byKey) if (w.sourceTable === sourceTable) saved.set(k, { ...w });
    return { sourceTable, saved };
  }

  /** Puts one source table's warnings back as they were at `mark`: a table read twice is counted once. */
  restore(mark: WarningMark): void {
    for (const [k, w] of [...this.byKey]) if (w.sourceTable === mark.sourceTable) this.byKey.delete(k);
    for (const [k, w] of mark.saved) this.byKey.set(k, { ...w });
  }
}

/** What {@link WarningLog.mark} saved. */
export interface WarningMark {
  readonly sourceTable: string;
  readonly saved: ReadonlyMap<string, ReadWarning>;
}

function describe(w: ReadWarning): string {
  const where = w.column ? `${w.sourceTable}.${w.column}` : w.sourceTable;
  const ex = w.example ? ` (e.g. ${w.example})` : '';
  switch (w.kind) {
    case 'nul-stripped':
      return `${where}: ${w.count} NUL character(s) removed from text (PostgreSQL cannot store them)${ex}`;
    case 'implausible-timestamp':
      return `${where}: ${w.count} value(s) in a timestamp column that are not a date between 2000 and 2100 (read as Unix s/ms/µs by magnitude, SQLite or ISO text); stored NULL, raw value kept in extra.$raw${ex}`;
    case 'type-mismatch':
      return `${where}: ${w.count} value(s) of an unexpected type; stored NULL, raw value kept in extra.$raw${ex}`;
    case 'json-kept-as-text':
      return `${where}: ${w.count} JSON-looking value(s) kept as JSON strings${ex}`;
    case 'derived-key':
      return `${where}: ${w.count} row(s) with a NULL primary-key part got a key derived from their content${ex}`;
    default:
      return `${where}: ${w.example ?? ''}`;
  }
}

/** Where a row comes from, for messages. */
export interface MapContext {
  /** The source path as captured (relative to the workspace), named in every message. */
  file: string;
  warnings: WarningLog;
  maxValueBytes: number;
  maxJsonDepth: number;
}

export function mapContext(file: string, overrides: Partial<Omit<MapContext, 'file'>> = {}): MapContext {
  return {
    file,
    warnings: overrides.warnings ?? new WarningLog(),
    maxValueBytes: overrides.maxValueBytes ?? MAX_VALUE_BYTES,
    maxJsonDepth: overrides.maxJsonDepth ?? MAX_JSON_DEPTH,
  };
}

/** What went wrong with one value, for {@link valueError}. */
export interface ValueProblem {
  table: string;
  key?: string | undefined;
  field?: string | undefined;
  expected: string;
  got: string;
  fix: string;
}

/**
 * A VALUE_INVALID error naming file, table, row key and field:
 * `v3/.agentic-qe/memory.db: table "vectors", row "vec-1", field "embedding": expected …, got …. Fix: …`
 */
export function valueError(ctx: Pick<MapContext, 'file'>, p: ValueProblem, code: 'VALUE_INVALID' | 'PARSE_FAILED' = 'VALUE_INVALID'): AppError {
  const where = [`table "${p.table}"`, p.key !== undefined ? `row ${JSON.stringify(p.key)}` : null, p.field !== undefined ? `field "${p.field}"` : null]
    .filter(Boolean)
    .join(', ');
  return new AppError(code, `${ctx.file}: ${where}: expected ${p.expected}, got ${p.got}. ${p.fix}`, {
    details: { file: ctx.file, table: p.table, key: p.key, field: p.field },
  });
}
