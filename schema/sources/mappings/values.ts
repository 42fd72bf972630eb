// Pure value normalisation for source rows: timestamps by explicit per-column rules, JSON kept in
// TEXT columns, NUL stripping, Float32 / JSON-array embeddings, 0/1 booleans. No I/O; total
// functions (they return a verdict instead of throwing on odd input).

/**
 * One encoding a timestamp column may hold (SOURCES.md "Timestamps"):
 * - `unix-ms`: `Date.now()` integers
 * - `unix-ms-seconds`: milliseconds with second granularity (`strftime('%s','now')*1000`); parsed as ms
 * - `unix-s`: Unix seconds (claude-flow SQLite, intelligence.json)
 * - `sqlite-text`: `YYYY-MM-DD HH:MM:SS[.fff]` in UTC (`datetime('now')`, `CURRENT_TIMESTAMP`)
 * - `iso`: ISO 8601 `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)`, extended years (`+051234-…`) included
 */
export type TimestampEncoding = 'unix-ms' | 'unix-ms-seconds' | 'unix-s' | 'sqlite-text' | 'iso';

/**
 * The encodings one column may hold. Numbers are read by the first numeric encoding listed and
 * strings by the text encodings listed: the storage class decides, never the magnitude.
 */
export type TimestampRule = TimestampEncoding | readonly TimestampEncoding[];

export interface ParsedTimestamp {
  date: Date | null;
  /** The source value, kept when it could not be read under the rule or is implausible. */
  raw?: unknown;
  implausible?: boolean;
}

/** Dates outside [2000-01-01, 2100-01-01) are implausible for these tools (e.g. seconds read as ms, `+051234` years). */
export const PLAUSIBLE_FROM_MS = Date.UTC(2000, 0, 1);
export const PLAUSIBLE_TO_MS = Date.UTC(2100, 0, 1);

const SQLITE_TEXT = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const ISO_TEXT = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Reads a timestamp under an explicit column rule. Never throws: returns `{ date }` for a
 * plausible value, `{ date: null }` for NULL, and `{ date: null, raw, implausible: true }` for
 * anything else (unparseable, wrong storage class for the rule, out of range) so the caller can
 * keep the raw value.
 *
 * @example
 * parseTimestamp(1736121600000, ['unix-ms', 'sqlite-text']).date?.toISOString() // '2025-01-06T00:00:00.000Z'
 * parseTimestamp('+051234-01-01T00:00:00.000Z', 'iso') // { date: null, raw: '+051234-…', implausible: true }
 */
export function parseTimestamp(value: unknown, rule: TimestampRule): ParsedTimestamp {
  if (value === null || value === undefined) return { date: null };
  const encodings: readonly TimestampEncoding[] = typeof rule === 'string' ? [rule] : rule;
  let ms: number | null = null;
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = typeof value === 'bigint' ? Number(value) : value;
    const numeric = encodings.find((e) => e === 'unix-ms' || e === 'unix-ms-seconds' || e === 'unix-s');
    if (numeric !== undefined && Number.isFinite(n)) ms = numeric === 'unix-s' ? n * 1000 : n;
  } else if (typeof value === 'string') {
    if (encodings.includes('sqlite-text')) ms = parseSqliteText(value);
    if (ms === null && encodings.includes('iso')) ms = parseIso(value);
  }
  if (ms === null || !Number.isFinite(ms) || ms < PLAUSIBLE_FROM_MS || ms >= PLAUSIBLE_TO_MS) {
    return { date: null, raw: value, implausible: true };
  }
  return { date: new Date(Math.trunc(ms)) };
}

function utcMs(year: number, month: number, day: number, h: number, mi: number, s: number, fraction: string | undefined): number | null {
  if (month < 1 || month > 12 || day < 1 || day > 31 || h > 23 || mi > 59 || s > 59) return null;
  const d = new Date(0);
  // setUTCFullYear: Date.UTC maps years 0–99 to 1900+.
  d.setUTCFullYear(year, month - 1, day);
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day) return null;
  d.setUTCHours(h, mi, s, fraction ? Number(fraction.slice(0, 3).padEnd(3, '0')) : 0);
  const t = d.getTime();
  return Number.isFinite(t) ? t : null;
}

function parseSqliteText(text: string): number | null {
  const m = SQLITE_TEXT.exec(text);
  if (!m) return null;
  return utcMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), m[7]);
}

function parseIso(text: string): number | null {
  const m = ISO_TEXT.exec(text);
  if (!m) return null;
  const base = utcMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? '0'), m[7]);
  if (base === null) return null;
  const zone = m[8] ?? 'Z';
  if (zone === 'Z') return base;
  const zm = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!zm) return null;
  const offset = (Number(zm[2]) * 60 + Number(zm[3])) * 60_000;
  return zm[1] === '+' ? base - offset : base + offset;
}

// ---------------------------------------------------------------------------------------------
// Text

/** Text without NUL characters (PostgreSQL text cannot hold them) and how many were removed. */
export function stripNul(text: string): { text: string; removed: number } {
  if (!text.includes('\u0000')) return { text, removed: 0 };
  let removed = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0) removed++;
  return { text: text.replaceAll('\u0000', ''), removed };
}

/** UTF-8 byte length, computed only when the string could exceed `limit` (cheap for small text). */
export function exceedsBytes(text: string, limit: number): boolean {
  if (text.length * 3 <= limit) return false;
  return Buffer.byteLength(text, 'utf8') > limit;
}

// ---------------------------------------------------------------------------------------------
// JSON values

export interface JsonLimits {
  /** Deepest nesting of arrays/objects accepted. */
  maxDepth: number;
}

export const DEFAULT_JSON_LIMITS: JsonLimits = { maxDepth: 256 };

export type CleanJsonResult =
  | { ok: true; value: unknown; nulRemoved: number }
  | { ok: false; problem: string; path: string };

/**
 * A copy of a parsed JSON value fit for jsonb: NUL stripped from strings (counted). Refuses
 * (with the JSON path) non-finite numbers (what `JSON.parse` makes of `1e400`), NUL in member
 * names (stripping would change identity) and nesting deeper than `limits.maxDepth`.
 */
export function cleanJson(value: unknown, limits: JsonLimits = DEFAULT_JSON_LIMITS, basePath = '$'): CleanJsonResult {
  let nulRemoved = 0;
  let failure: { problem: string; path: string } | null = null;
  const walk = (v: unknown, depth: number, path: string): unknown => {
    if (failure) return null;
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'string') {
      const s = stripNul(v);
      nulRemoved += s.removed;
      return s.text;
    }
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) failure = { problem: 'a number beyond the double range (it would become Infinity)', path };
      return v;
    }
    if (depth >= limits.maxDepth) {
      failure = { problem: `nesting deeper than ${limits.maxDepth} levels`, path };
      return null;
    }
    if (Array.isArray(v)) return v.map((x, i) => walk(x, depth + 1, `${path}[${i}]`));
    if (typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (k.includes('\u0000')) {
          failure = { problem: 'a member name containing a NUL character', path: `${path}[${JSON.stringify(k)}]` };
          return null;
        }
        setOwn(out, k, walk(x, depth + 1, `${path}.${k}`));
      }
      return out;
    }
    failure = { problem: `a ${typeof v} value, which JSON cannot hold`, path };
    return null;
  };
  const value2 = walk(value, 0, basePath);
  if (failure) return { ok: false, ...(failure as { problem: string; path: string }) };
  return { ok: true, value: value2, nulRemoved };
}

export interface JsonTextResult {
  /** The JSON value (a JSON string when the text is not JSON). */
  value: unknown;
  /** `json`: the text parsed as JSON; `string`: kept as a JSON string. */
  kind: 'json' | 'string';
  nulRemoved: number;
  /** Why valid-looking JSON was kept as a string (non-finite number, too deep, NUL in a member name). */
  note?: string;
}

/**
 * A TEXT column that usually holds `JSON.stringify` output: valid JSON is kept as JSON; anything
 * else (`'task-started'`, HTML, JSON with `1e400`) is kept verbatim as a JSON string. NUL is
 * stripped and counted either way.
 */
export function parseJsonText(text: string, limits: JsonLimits = DEFAULT_JSON_LIMITS): JsonTextResult {
  const stripped = stripNul(text);
  // Plain text is common (one value per row): a JSON.parse that throws costs ~10 µs (measured:
  // 1.4 s per 100K rows, most of the loader's CPU), so rule it out from the first character.
  if (!mayBeJson(stripped.text)) return { value: stripped.text, kind: 'string', nulRemoved: stripped.removed };
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripped.text);
  } catch {
    return { value: stripped.text, kind: 'string', nulRemoved: stripped.removed };
  }
  if (typeof parsed !== 'object' || parsed === null) {
    if (typeof parsed === 'number' && !Number.isFinite(parsed)) return { value: stripped.text, kind: 'string', nulRemoved: stripped.removed, note: 'a number beyond the double range at $' };
    if (typeof parsed === 'string') {
      const inner = stripNul(parsed);
      return { value: inner.text, kind: 'json', nulRemoved: stripped.removed + inner.removed };
    }
    return { value: parsed, kind: 'json', nulRemoved: stripped.removed };
  }
  // Without an escaped NUL no parsed string can hold one: check in place instead of copying.
  if (!/\\u0000/i.test(stripped.text)) {
    const problem = checkJson(parsed, limits.maxDepth);
    if (problem) return { value: stripped.text, kind: 'string', nulRemoved: stripped.removed, note: problem };
    return { value: parsed, kind: 'json', nulRemoved: stripped.removed };
  }
  const clean = cleanJson(parsed, limits);
  if (!clean.ok) return { value: stripped.text, kind: 'string', nulRemoved: stripped.removed, note: `${clean.problem} at ${clean.path}` };
  return { value: clean.value, kind: 'json', nulRemoved: stripped.removed + clean.nulRemoved };
}

/**
 * false only when JSON.parse must fail: JSON text is optional whitespace (space, tab, LF, CR), then
 * a value starting with `{ [ " -` or a digit, or exactly `true` / `false` / `null`.
 */
const JSON_NUMBER = /^[ \t\n\r]*-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?[ \t\n\r]*$/;

function mayBeJson(text: string): boolean {
  let i = 0;
  let c = text.charCodeAt(0);
  while (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) c = text.charCodeAt(++i);
  if (c === 0x7b || c === 0x5b || c === 0x22) return true;
  // A JSON text starting with `-` or a digit is a single number: anything else fails to parse
  // (and a failing JSON.parse costs ~10 µs; text such as `5 apples` is common).
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return JSON_NUMBER.test(text);
  if (c === 0x74 || c === 0x66 || c === 0x6e) {
    const word = text.trim();
    return word === 'true' || word === 'false' || word === 'null';
  }
  return false;
}

/** Finite numbers and bounded depth, checked without copying; the problem, or null. */
function checkJson(v: unknown, maxDepth: number, depth = 0): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? null : 'a number beyond the double range';
  if (v === null || typeof v !== 'object') return null;
  if (depth >= maxDepth) return `nesting deeper than ${maxDepth} levels`;
  if (Array.isArray(v)) {
    for (const x of v) {
      const p = checkJson(x, maxDepth, depth + 1);
      if (p) return p;
    }
    return null;
  }
  for (const k in v as Record<string, unknown>) {
    const p = checkJson((v as Record<string, unknown>)[k], maxDepth, depth + 1);
    if (p) return p;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Embeddings

export type VectorResult = { ok: true; vector: number[] } | { ok: false; problem: string };

/**
 * Decodes a Float32 little-endian BLOB. The byte length must be a multiple of 4 (and equal
 * `expectedDim * 4` when the row records a dimension) and every value finite.
 */
export function decodeFloat32Blob(bytes: Uint8Array, expectedDim?: number | null): VectorResult {
  if (bytes.byteLength % 4 !== 0) return { ok: false, problem: `${bytes.byteLength} bytes is not a whole number of Float32 values (4 bytes each)` };
  const dim = bytes.byteLength / 4;
  if (expectedDim !== undefined && expectedDim !== null && dim !== expectedDim) {
    return { ok: false, problem: `${bytes.byteLength} bytes = ${dim} Float32 values, but the row records dimension ${expectedDim} (${expectedDim * 4} bytes)` };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(dim);
  for (let i = 0; i < dim; i++) {
    const x = view.getFloat32(i * 4, true);
    if (!Number.isFinite(x)) return { ok: false, problem: `value ${i} is ${x} (expected finite numbers)` };
    out[i] = x;
  }
  return { ok: true, vector: out };
}

/** A short description of a vector element that is not a finite number (never throws: no JSON.stringify of bigints or objects). */
function describeElement(x: unknown): string {
  if (typeof x === 'string') return JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x);
  if (typeof x === 'bigint') return `${x}n`;
  if (x === null || Array.isArray(x)) return x === null ? 'null' : 'an array';
  return typeof x === 'object' ? 'an object' : String(x);
}

/** Smallest magnitude that rounds to Infinity as a 4-byte float (FLT_MAX plus half an ulp). */
const FLOAT4_OVERFLOW = 3.4028235677973366e38;

/** Checks a JSON-array embedding (already parsed, or JSON text): numbers only, finite, within float4 range, `expectedDim` long when given. */
export function parseJsonEmbedding(value: unknown, expectedDim?: number | null): VectorResult {
  let v = value;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return { ok: false, problem: 'text that is not a JSON array' };
    }
  }
  if (!Array.isArray(v)) return { ok: false, problem: `${v === null ? 'null' : typeof v} instead of an array of numbers` };
  if (expectedDim !== undefined && expectedDim !== null && v.length !== expectedDim) {
    return { ok: false, problem: `${v.length} values, but the dimension is ${expectedDim}` };
  }
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) {
    const x: unknown = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) return { ok: false, problem: `element ${i} is ${describeElement(x)} (expected a finite number)` };
    // stored as real: beyond ±3.4e38 it would become Infinity (PostgreSQL refuses the row)
    if (x >= FLOAT4_OVERFLOW || x <= -FLOAT4_OVERFLOW) return { ok: false, problem: `element ${i} is ${x} (expected a number within the 4-byte float range, ±3.4e38)` };
    out[i] = x;
  }
  return { ok: true, vector: out };
}

// ---------------------------------------------------------------------------------------------
// Scalars

/** `true`/`false` from INTEGER 0/1 (or JSON booleans); `undefined` for anything else. `null` stays `null`. */
export function toBoolean(value: unknown): boolean | null | undefined {
  if (value === null || value === undefined) return null;
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 0n) return false;
  if (value === 1 || value === 1n) return true;
  return undefined;
}

/** A JS number from an integer value stored as number or bigint (`undefined` when not an integer). */
export function toInteger(value: unknown): number | bigint | undefined {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value;
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  return undefined;
}

/** A finite double (`undefined` when the value is not a finite number). */
export function toDouble(value: unknown): number | undefined {
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return undefined;
}

/**
 * `obj[key] = value`, keeping a member named `__proto__` as data: plain assignment would set the
 * object's prototype instead and the member would silently vanish from the stored row.
 */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * A source value made JSON-safe for `extra` / `row` (jsonb): BLOBs as `{ "$base64": … }`,
 * integers beyond 2^53 as decimal strings, non-finite numbers as strings, NUL stripped (counted
 * through `onNul`).
 */
export function toJsonSafe(value: unknown, onNul?: (removed: number) => void): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') {
    const s = stripNul(value);
    if (s.removed > 0) onNul?.(s.removed);
    return s.text;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'boolean') return value;
  if (value instanceof Uint8Array) return { $base64: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (Array.isArray(value)) return value.map((x) => toJsonSafe(x, onNul));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value as Record<string, unknown>)) setOwn(out, k, toJsonSafe(x, onNul));
    return out;
  }
  return String(value);
}
