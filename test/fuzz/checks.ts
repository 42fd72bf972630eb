// The verdicts every fuzz property shares: "a clear AppError" (right class, a code the loader
// quarantines on, a message naming the file), "a well-formed row" (identity fields are strings,
// every value goes through the COPY encoders into text PostgreSQL accepts, keys unique as stored),
// and the per-case time limit. A failure is a plain Error whose message says what was wrong.
import { encodeCopyValue, escapeCopyText, jsonText } from '../../functions/db/copy-encoding.js';
import type { ErrorCode } from '../../schema/errors.js';
import { AppError } from '../../schema/errors.js';
import { MAX_SEARCH_TEXT, searchTextFor } from '../../schema/sources/recipes.js';
import type { ColumnType, TargetRow, TargetTable } from '../../schema/tables/target-tables.js';
import { TARGET_TABLES } from '../../schema/tables/target-tables.js';

/** Codes for "this snapshot's content is bad": the loader quarantines on them (load-snapshot.ts). */
export const CONTENT_ERROR_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['PARSE_FAILED', 'VALUE_INVALID', 'SOURCE_CORRUPT', 'SOURCE_WRONG_KIND']);

/** A property violation (any other throwable is one too, reported as such). */
export class FuzzFailure extends Error {
  override name = 'FuzzFailure';
}

function describeThrown(err: unknown): string {
  if (err instanceof Error) return `${err.constructor.name}: ${err.message.slice(0, 300)}`;
  return `a non-Error (${typeof err}: ${String(err).slice(0, 100)})`;
}

/** Throws FuzzFailure unless `err` is an AppError with a message (one of `codes`, naming `mentions`). */
export function expectAppError(err: unknown, opts: { codes?: ReadonlySet<ErrorCode>; mentions?: string } = {}): AppError {
  if (err instanceof FuzzFailure) throw err;
  if (!(err instanceof AppError)) throw new FuzzFailure(`threw ${describeThrown(err)} instead of an AppError`, { cause: err });
  if (err.message.trim() === '') throw new FuzzFailure(`AppError ${err.code} with an empty message`);
  if (opts.codes && !opts.codes.has(err.code)) throw new FuzzFailure(`AppError with code ${err.code}, expected one of ${[...opts.codes].join(', ')}: ${err.message.slice(0, 300)}`);
  if (opts.mentions !== undefined && !err.message.includes(opts.mentions)) {
    throw new FuzzFailure(`AppError ${err.code} does not name ${JSON.stringify(opts.mentions)}: ${err.message.slice(0, 300)}`);
  }
  return err;
}

// ---------------------------------------------------------------------------------------------
// What PostgreSQL accepts as COPY text input, per column type

/** The value COPY text format reads from an encoded field (backslash escapes undone). */
export function unescapeCopy(field: string): string {
  return field.replace(/\\(.)/gs, (_, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}

const ZERO_TEXT = /^[+-]?(0+\.?0*|\.0+)(e[+-]?\d+)?$/i;

/**
 * Why PostgreSQL's JSON parser would refuse valid JSON text, or null: it reads every `\uXXXX`
 * escape (members later overwritten by a duplicate name included) and refuses `\u0000` and
 * surrogate escapes that do not form a pair. (Raw lone surrogates cannot reach it: the UTF-8
 * encoding of the COPY stream turns them into U+FFFD.)
 */
function jsonbEscapeProblem(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== 0x5c) continue;
    if (text[i + 1] !== 'u') {
      i++;
      continue;
    }
    const code = Number.parseInt(text.slice(i + 2, i + 6), 16);
    if (code === 0) return `an escaped NUL (\\u0000) at character ${i}`;
    if (code >= 0xdc00 && code <= 0xdfff) return `an escaped low surrogate without a high one at character ${i}`;
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = text[i + 6] === '\\' && text[i + 7] === 'u' ? Number.parseInt(text.slice(i + 8, i + 12), 16) : Number.NaN;
      if (!(next >= 0xdc00 && next <= 0xdfff)) return `an escaped high surrogate without a low one at character ${i}`;
      i += 6;
    }
    i += 5;
  }
  return null;
}

/** Why PostgreSQL would refuse a float text for double precision (or real, `float4`), or null. */
function floatProblem(text: string, float4: boolean): string | null {
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return null;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) return `"${text}" is not a number`;
  const x = Number(text);
  if (!Number.isFinite(x)) return `"${text}" overflows double precision`;
  if (x === 0 && !ZERO_TEXT.test(text)) return `"${text}" underflows double precision`;
  if (float4) {
    if (!Number.isFinite(Math.fround(x))) return `"${text}" overflows real`;
    if (x !== 0 && Math.fround(x) === 0) return `"${text}" underflows real`;
  }
  return null;
}

/**
 * Why PostgreSQL's input function for `type` would refuse the encoded COPY field, or null.
 * Mirrors PostgreSQL (checked against PGlite in never-write.test.ts): timestamps only in the
 * 4-digit-year form with year ≥ 1, real values within float4 range, jsonb without NUL or lone surrogates.
 */
export function pgInputProblem(type: ColumnType, field: string): string | null {
  if (/[\t\n\r\u0000]/.test(field)) return 'an unescaped tab, newline, carriage return or NUL in a COPY field';
  const text = unescapeCopy(field);
  switch (type) {
    case 'text':
      return null;
    case 'jsonb': {
      try {
        JSON.parse(text);
      } catch (err) {
        return `not JSON (${(err as Error).message.slice(0, 80)})`;
      }
      return jsonbEscapeProblem(text);
    }
    case 'double':
      return floatProblem(text, false);
    case 'bigint':
    case 'integer': {
      if (!/^-?\d+$/.test(text)) return `"${text}" is not an integer`;
      const n = BigInt(text);
      const bits = type === 'bigint' ? 63n : 31n;
      return n < -(2n ** bits) || n > 2n ** bits - 1n ? `"${text}" is out of range for ${type}` : null;
    }
    case 'boolean':
      return text === 't' || text === 'f' ? null : `"${text}" is not t/f`;
    case 'bytea':
      // only the hex form (what sha256CopyText writes); PostgreSQL also reads an escape form
      return /^\\x([0-9a-fA-F]{2})*$/.test(text) ? null : `"${text.slice(0, 60)}" is not bytea in hex form (\\x…)`;
    case 'timestamptz': {
      const m = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.exec(text);
      if (!m) return `"${text}" is not a timestamp PostgreSQL reads (4-digit year, ISO 8601 UTC)`;
      return Number(m[1]) < 1 ? `"${text}": year 0 does not exist in PostgreSQL` : null;
    }
    case 'real[]':
    case 'double[]': {
      const m = /^\{(.*)\}$/s.exec(text);
      if (!m) return `"${text.slice(0, 60)}" is not an array literal`;
      if (m[1] === '') return null;
      for (const el of m[1]!.split(',')) {
        if (el === 'NULL') continue;
        const p = floatProblem(el, type === 'real[]');
        if (p) return p;
      }
      return null;
    }
  }
}

/** Encodes `value` for `type` and throws FuzzFailure when the encoder throws or PostgreSQL would refuse its output. */
export function expectEncodes(value: unknown, type: ColumnType, where: string): string | null {
  let field: string | null;
  try {
    field = encodeCopyValue(value, type);
  } catch (err) {
    throw new FuzzFailure(`${where}: the ${type} encoder refused the value the transform produced: ${describeThrown(err)}`, { cause: err });
  }
  if (field === null) return null;
  const problem = pgInputProblem(type, field);
  if (problem) throw new FuzzFailure(`${where}: encoded ${type} ${JSON.stringify(field.slice(0, 120))} would be refused by PostgreSQL: ${problem}`);
  return field;
}

// ---------------------------------------------------------------------------------------------
// Rows

const TABLES: ReadonlyMap<string, TargetTable> = new Map(TARGET_TABLES.map((t) => [t.name, t]));
const PLAUSIBLE = [Date.UTC(2000, 0, 1), Date.UTC(2100, 0, 1)] as const;

/**
 * Throws FuzzFailure unless `row` is one the merge can stage: a known table (`expectTable` when
 * given), string identity fields, a sha256 content hash, a plausible `sourceUpdatedAt`, values
 * only for that table's columns, and every value, `extra` and the search text encodable into text
 * PostgreSQL accepts.
 */
export function checkRow(row: TargetRow, expectTable?: string): void {
  if (row === null || typeof row !== 'object') throw new FuzzFailure(`a row that is not an object: ${String(row)}`);
  const table = TABLES.get(row.table);
  if (!table) throw new FuzzFailure(`a row for unknown table ${JSON.stringify(row.table)}`);
  if (expectTable !== undefined && row.table !== expectTable) throw new FuzzFailure(`a row for ${row.table} in the part of ${expectTable}`);
  const where = `${row.table} row ${JSON.stringify(row.sourceTable)}/${JSON.stringify(row.sourceKey)}`;
  for (const f of ['sourceTable', 'sourceKey', 'contentHash'] as const) {
    if (typeof row[f] !== 'string') throw new FuzzFailure(`${where}: ${f} is ${typeof row[f]}, expected a string`);
  }
  if (!/^[0-9a-f]{64}$/.test(row.contentHash)) throw new FuzzFailure(`${where}: contentHash ${JSON.stringify(row.contentHash)} is not sha256 hex`);
  if (row.sourceUpdatedAt !== null) {
    const t = row.sourceUpdatedAt instanceof Date ? row.sourceUpdatedAt.getTime() : Number.NaN;
    if (!(t >= PLAUSIBLE[0] && t < PLAUSIBLE[1])) throw new FuzzFailure(`${where}: sourceUpdatedAt ${String(row.sourceUpdatedAt)} is not a plausible Date`);
    expectEncodes(row.sourceUpdatedAt, 'timestamptz', `${where}.sourceUpdatedAt`);
  }
  if (row.values === null || typeof row.values !== 'object') throw new FuzzFailure(`${where}: values is not an object`);
  const columns = new Map(table.columns.map((c) => [c.name, c.type]));
  for (const k of Object.keys(row.values)) if (!columns.has(k)) throw new FuzzFailure(`${where}: value "${k}" is not a column of ${table.name}`);
  for (const [name, type] of columns) expectEncodes(row.values[name], type, `${where}.${name}`);
  if (row.extra !== null) {
    if (typeof row.extra !== 'object' || Array.isArray(row.extra)) throw new FuzzFailure(`${where}: extra is not an object`);
    const problem = pgInputProblem('jsonb', escapeCopyText(jsonText(row.extra)));
    if (problem) throw new FuzzFailure(`${where}: extra would be refused by PostgreSQL: ${problem}`);
  }
  if (table.embedded) {
    const text = searchTextFor(table.name, row.values);
    if (text !== null && (typeof text !== 'string' || text.length === 0 || text.length > MAX_SEARCH_TEXT)) throw new FuzzFailure(`${where}: search text ${JSON.stringify(text)} is not 1–${MAX_SEARCH_TEXT} characters`);
  }
}

/** Tracks row keys as the database will store them (NUL stripped) and fails on a repeat: the merge would keep only one. */
export class KeyLedger {
  private readonly seen = new Map<string, string>();
  /** `known`: source tables where a repeat is a known, reported issue (not failed on). */
  constructor(private readonly known: ReadonlySet<string> = new Set()) {}
  add(row: TargetRow): void {
    const stored = `${row.table}\u0001${escapeCopyText(row.sourceTable)}\u0001${escapeCopyText(row.sourceKey)}`;
    const before = this.seen.get(stored);
    if (before !== undefined && !this.known.has(row.sourceTable)) {
      throw new FuzzFailure(`two rows of ${row.table} with the same stored key ${JSON.stringify(row.sourceTable)}/${JSON.stringify(row.sourceKey.replaceAll('\u0000', ''))}: the merge keeps one and the other is lost (contents ${before.slice(0, 12)} and ${row.contentHash.slice(0, 12)})`);
    }
    this.seen.set(stored, row.contentHash);
  }
}

// ---------------------------------------------------------------------------------------------
// Time limit

/**
 * Runs one case and fails it when it takes longer than `limitMs` (measured, so a slow synchronous
 * case fails too) or does not settle within twice that (an asynchronous hang: the race ends it).
 */
export async function withinTimeLimit(limitMs: number, run: () => Promise<void> | void): Promise<void> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FuzzFailure(`did not finish within ${2 * limitMs} ms (hang)`)), 2 * limitMs);
  });
  try {
    await Promise.race([Promise.resolve().then(run), hang]);
  } finally {
    clearTimeout(timer);
  }
  const ms = performance.now() - started;
  if (ms > limitMs) throw new FuzzFailure(`took ${Math.round(ms)} ms (limit ${limitMs} ms)`);
}
