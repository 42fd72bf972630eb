// How values are written in COPY text format (and as vector literals), plus identifier quoting.
// Pure: one place decides escaping, NUL stripping and the text form of every ColumnType.
import type { ColumnType } from '../../schema/tables/target-tables.js';
import { AppError } from '../../schema/errors.js';

/** Counts what encoding had to change (PostgreSQL text cannot hold NUL). */
export interface EncodeStats {
  nulStripped: number;
}

export function newEncodeStats(): EncodeStats {
  return { nulStripped: 0 };
}

// Matches what COPY text format treats specially, plus NUL (stripped).
const COPY_SPECIAL = /[\\\t\n\r\0]/;
const COPY_SPECIAL_G = /[\\\t\n\r\0]/g;

/** Escapes one text value for COPY text format; strips NUL (counted in `stats`). */
export function escapeCopyText(text: string, stats?: EncodeStats): string {
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replace(COPY_SPECIAL_G, (ch) => {
    switch (ch) {
      case '\\':
        return '\\\\';
      case '\t':
        return '\\t';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      default:
        if (stats) stats.nulStripped++;
        return '';
    }
  });
}

const invalid = (type: ColumnType, value: unknown, expected: string): AppError =>
  new AppError('VALUE_INVALID', `${type} value: expected ${expected}, got ${describe(value)}`, { details: { type } });

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'invalid' : value.toISOString()})`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value !== null && typeof value === 'object') return 'object';
  return String(value);
}

/**
 * The COPY text-format field for `value` in a column of `type` (already escaped), or null for
 * SQL NULL (`\N` on the wire). Throws AppError VALUE_INVALID for a value that cannot be the type.
 *
 * @example encodeCopyValue('a\tb', 'text') === 'a\\tb'; encodeCopyValue([1, 2], 'real[]') === '{1,2}'
 */
export function encodeCopyValue(value: unknown, type: ColumnType, stats?: EncodeStats): string | null {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'text':
      return escapeCopyText(textOf(value), stats);
    case 'jsonb':
      return escapeCopyText(jsonText(value, stats), stats);
    case 'double':
      return doubleText(value);
    case 'bigint':
    case 'integer':
      return integerText(value, type);
    case 'boolean':
      return booleanText(value);
    case 'timestamptz':
      return timestampText(value);
    case 'real[]':
      return realArrayText(value);
    case 'double[]':
      return doubleArrayText(value);
    case 'bytea':
      return sha256CopyText(value);
  }
}

/**
 * The bytes a hash column (bytea since migration 025) stores for `hash`, as hex: a sha256 in
 * lowercase hex (what the mappings write) is its own 32 bytes; any other string its UTF-8 bytes
 * (what the migration made of such a value). Compare with `encode(column, 'hex')`.
 *
 * @example storedHashHex('ab'.repeat(32)) === 'ab'.repeat(32); storedHashHex('h1') === '6831'
 */
export function storedHashHex(hash: string): string {
  return isSha256Hex(hash) ? hash : Buffer.from(hash, 'utf8').toString('hex');
}

/** 1 for the character codes of 0-9 and a-f. */
const HEX_DIGIT = new Uint8Array(128);
for (const ch of '0123456789abcdef') HEX_DIGIT[ch.charCodeAt(0)] = 1;

/**
 * Same as `/^[0-9a-f]{64}$/.test(text)`, by a table lookup per character: ~0.1 µs a call against
 * ~0.3 µs for the regular expression (or a loop of range comparisons), once per row of a load.
 */
export function isSha256Hex(text: string): boolean {
  if (text.length !== 64) return false;
  for (let i = 0; i < 64; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || HEX_DIGIT[c] !== 1) return false;
  }
  return true;
}

/**
 * The COPY text field of a hash stored as bytea (migration 025): bytea's hex form of
 * {@link storedHashHex} (a 32-byte Buffer as itself), backslash escaped for COPY.
 * Throws AppError VALUE_INVALID for anything but a string or a Buffer.
 *
 * @example sha256CopyText('ab'.repeat(32)) === '\\\\x' + 'ab'.repeat(32)
 */
export function sha256CopyText(value: unknown): string {
  if (typeof value === 'string') return `\\\\x${storedHashHex(value)}`;
  if (Buffer.isBuffer(value)) return `\\\\x${value.toString('hex')}`;
  throw invalid('bytea', value, 'a hash: a string (a sha256 in hex) or bytes');
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw invalid('text', value, 'a valid date');
    return isoTimestamp(value.getTime());
  }
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return jsonText(value);
}

// jsonb cannot hold \u0000 nor lone surrogates: such strings (and keys) are cleaned.
const JSON_NEEDS_CLEANING = /\\u0000|\\ud[89a-f]/i;

/** JSON text for a jsonb value (bigints become numbers, or strings beyond 2^53). */
export function jsonText(value: unknown, stats?: EncodeStats): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    json = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v));
  }
  if (json === undefined) return 'null';
  if (JSON_NEEDS_CLEANING.test(json)) json = JSON.stringify(cleanJson(JSON.parse(json), stats));
  return json;
}

function cleanString(s: string, stats?: EncodeStats): string {
  let out = s;
  if (out.includes('\0')) {
    const before = out.length;
    out = out.replaceAll('\0', '');
    if (stats) stats.nulStripped += before - out.length;
  }
  return out.replace(LONE_SURROGATE, '\uFFFD');
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function cleanJson(v: unknown, stats?: EncodeStats): unknown {
  if (typeof v === 'string') return cleanString(v, stats);
  if (Array.isArray(v)) return v.map((x) => cleanJson(x, stats));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const key = cleanString(k, stats);
      // a member named "__proto__" stays a member (assignment would set the prototype and drop it)
      if (key === '__proto__') Object.defineProperty(out, key, { value: cleanJson(x, stats), enumerable: true, writable: true, configurable: true });
      else out[key] = cleanJson(x, stats);
    }
    return out;
  }
  return v;
}

function doubleText(value: unknown): string {
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'bigint') {
    if (!Number.isFinite(Number(value))) throw invalid('double', value, 'a number within the double range');
    return value.toString();
  }
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return numberText(Number(value));
  throw invalid('double', value, 'a number');
}

function numberText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return 'Infinity';
  if (n === Number.NEGATIVE_INFINITY) return '-Infinity';
  return String(n);
}

const INT_MIN = { bigint: -(2n ** 63n), integer: -(2n ** 31n) };
const INT_MAX = { bigint: 2n ** 63n - 1n, integer: 2n ** 31n - 1n };

function integerText(value: unknown, type: 'bigint' | 'integer'): string {
  let n: bigint;
  if (typeof value === 'bigint') n = value;
  else if (typeof value === 'number' && Number.isInteger(value)) n = BigInt(value);
  else if (typeof value === 'string' && /^\s*[-+]?\d+\s*$/.test(value)) n = BigInt(value.trim());
  else if (typeof value === 'boolean') n = value ? 1n : 0n;
  else throw invalid(type, value, 'an integer');
  if (n < INT_MIN[type] || n > INT_MAX[type]) throw invalid(type, value, `an integer within the ${type} range`);
  return n.toString();
}

function booleanText(value: unknown): string {
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (value === 1 || value === 0 || value === 1n || value === 0n) return value ? 't' : 'f';
  if (typeof value === 'string') {
    const s = value.trim().toLowerCase();
    if (['t', 'true', '1', 'yes', 'y'].includes(s)) return 't';
    if (['f', 'false', '0', 'no', 'n'].includes(s)) return 'f';
  }
  throw invalid('boolean', value, 'true/false (or 1/0)');
}

function timestampText(value: unknown): string {
  let d: Date;
  if (value instanceof Date) d = value;
  else if (typeof value === 'number') d = new Date(value);
  else if (typeof value === 'string') d = new Date(value);
  else throw invalid('timestamptz', value, 'a Date, an ISO-8601 string or epoch milliseconds');
  const ms = d.getTime();
  if (Number.isNaN(ms)) throw invalid('timestamptz', value, 'a valid date');
  // PostgreSQL reads 4-digit years from 0001 on; toISOString writes others as ±YYYYYY, which it refuses
  if (ms < MIN_FOUR_DIGIT_YEAR_MS || ms > MAX_FOUR_DIGIT_YEAR_MS) throw invalid('timestamptz', value, 'a date between the years 0001 and 9999');
  return isoTimestamp(ms);
}

const MIN_FOUR_DIGIT_YEAR_MS = -62_135_596_800_000; // 0001-01-01T00:00:00.000Z

// Rows of one source mostly fall on few days: the date part is formatted once per day, the time
// part by hand (Date#toISOString was ~1.5 µs a value, a tenth of the loader's CPU on narrow rows).
const DAY_MS = 86_400_000;
const MAX_FOUR_DIGIT_YEAR_MS = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
let cachedDay = Number.NaN;
let cachedDayText = '';
const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

/** Same text as `new Date(ms).toISOString()`. */
export function isoTimestamp(ms: number): string {
  if (!(ms >= 0 && ms <= MAX_FOUR_DIGIT_YEAR_MS) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDayText = new Date(day * DAY_MS).toISOString().slice(0, 11);
    cachedDay = day;
  }
  let rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = Math.floor(rest / 1000);
  const milli = rest - sec * 1000;
  return `${cachedDayText}${pad2(h)}:${pad2(m)}:${pad2(sec)}.${milli < 10 ? `00${milli}` : milli < 100 ? `0${milli}` : milli}Z`;
}

function realArrayText(value: unknown): string {
  if (!(Array.isArray(value) || value instanceof Float32Array || value instanceof Float64Array)) {
    throw invalid('real[]', value, 'an array of numbers');
  }
  const parts: string[] = [];
  for (const x of Array.from(value as ArrayLike<unknown>)) {
    if (x === null || x === undefined) parts.push('NULL');
    else if (typeof x === 'number') parts.push(float4Text(x, value));
    else throw invalid('real[]', value, 'an array of numbers');
  }
  return `{${parts.join(',')}}`;
}

/** A double precision[] literal: every value exactly (JavaScript's shortest round-trip form). */
function doubleArrayText(value: unknown): string {
  if (!(Array.isArray(value) || value instanceof Float32Array || value instanceof Float64Array)) {
    throw invalid('double[]', value, 'an array of numbers');
  }
  const parts: string[] = [];
  for (const x of Array.from(value as ArrayLike<unknown>)) {
    if (x === null || x === undefined) parts.push('NULL');
    else if (typeof x === 'number') parts.push(numberText(x));
    else throw invalid('double[]', value, 'an array of numbers');
  }
  return `{${parts.join(',')}}`;
}

// real is a 4-byte float: PostgreSQL refuses a finite number that would round to Infinity or,
// nonzero, to 0. The first is refused here; the second is written as the 0 it rounds to.
const FLOAT4_OVERFLOW = 3.4028235677973366e38; // FLT_MAX + half an ulp
const FLOAT4_UNDERFLOW = 7.006492321624085e-46; // half the smallest subnormal: rounds to 0

function float4Text(x: number, value: unknown): string {
  if (Number.isFinite(x)) {
    if (x >= FLOAT4_OVERFLOW || x <= -FLOAT4_OVERFLOW) throw invalid('real[]', value, 'numbers within the 4-byte float range (±3.4e38)');
    if (x !== 0 && x <= FLOAT4_UNDERFLOW && x >= -FLOAT4_UNDERFLOW) return x < 0 ? '-0' : '0';
  }
  return numberText(x);
}

/**
 * The text literal of a vector, `'[x,y,…]'`, as both pgvector and ruvector parse it (turned into
 * the column type per dialect: castText / copyColumnText in dialects/). Throws VALUE_INVALID for
 * NaN/Infinity (neither extension accepts them) and MODEL_DIMENSION when `dim` is given and differs.
 */
export function encodeVectorLiteral(vector: ArrayLike<number>, dim?: number): string {
  if (dim !== undefined && vector.length !== dim) {
    throw new AppError('MODEL_DIMENSION', `vector: expected ${dim} dimensions, got ${vector.length}`);
  }
  const parts = new Array<string>(vector.length);
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i] as number;
    // describe(): an object component whose toString is not a function made `${x}` throw a TypeError
    if (!Number.isFinite(x)) throw new AppError('VALUE_INVALID', `vector[${i}]: expected a finite number, got ${describe(x)}`);
    parts[i] = String(x);
  }
  return `[${parts.join(',')}]`;
}

/** True when every component is 0 (cosine distance undefined: never stored, never queried). */
export function isZeroVector(vector: ArrayLike<number>): boolean {
  for (let i = 0; i < vector.length; i++) if (vector[i] !== 0) return false;
  return true;
}

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new TypeError('identifier contains NUL');
  return `"${name.replaceAll('"', '""')}"`;
}

/** `schema.table` → `"schema"."table"` (dots separate parts; our names never contain dots). */
export function quoteQualified(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}

/** One line of COPY text (tab-separated, `\N` for null, newline-terminated) from already-encoded values. */
export function copyLine(row: readonly (string | null | undefined)[], width: number, rowNumber: number): string {
  if (row.length !== width) throw new AppError('INTERNAL', `copyRows: row ${rowNumber} has ${row.length} values, expected ${width}`);
  let line = '';
  for (let i = 0; i < width; i++) {
    const v = row[i];
    if (i > 0) line += '\t';
    line += v === null || v === undefined ? '\\N' : v;
  }
  return `${line}\n`;
}

/** true for an AsyncIterable (consume with for await); false for a plain Iterable (no microtask per item). */
export function isAsyncIterable<T>(it: AsyncIterable<T> | Iterable<T>): it is AsyncIterable<T> {
  return typeof (it as Partial<AsyncIterable<T>>)[Symbol.asyncIterator] === 'function';
}

/** COPY statement for `table (columns)` (names quoted; they come from our code, never data). */
export function copySql(table: string, columns: readonly string[], source: 'STDIN' | `'${string}'`): string {
  return `COPY ${quoteQualified(table)} (${columns.map(quoteIdent).join(', ')}) FROM ${source}`;
}
