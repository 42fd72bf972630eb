// Pure value normalisation for source rows: timestamps by what each value is (magnitude, form), JSON kept in
// TEXT columns, NUL stripping, Float32 / JSON-array embeddings, 0/1 booleans. No I/O; total
// functions (they return a verdict instead of throwing on odd input).

/**
 * One encoding a timestamp column may hold (SOURCES.md "Timestamps"):
 * - `unix-ms`: `Date.now()` integers
 * - `unix-ms-seconds`: milliseconds with second granularity (`strftime('%s','now')*1000`)
 * - `unix-s`: Unix seconds (claude-flow 2.x SQLite, AgentDB, intelligence.json)
 * - `unix-us`: Unix microseconds
 * - `sqlite-text`: `YYYY-MM-DD HH:MM:SS[.fff]` in UTC (`datetime('now')`, `CURRENT_TIMESTAMP`)
 * - `iso`: ISO 8601 `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)`, extended years (`+051234-…`) included
 */
export type TimestampEncoding = 'unix-ms' | 'unix-ms-seconds' | 'unix-s' | 'unix-us' | 'sqlite-text' | 'iso';

/**
 * What a column is known to hold. It documents the column and may only break a tie: every value is
 * read by what it is (a number by its magnitude, text by its form), because the tools mix
 * encodings in one column (claude-flow 3.x writes milliseconds where 2.x wrote seconds, SQLite text
 * lands in INTEGER columns). Within 2000–2100 seconds, milliseconds, microseconds and
 * nanoseconds occupy disjoint ranges, so no real timestamp is ambiguous.
 */
export type TimestampRule = TimestampEncoding | readonly TimestampEncoding[];

export interface ParsedTimestamp {
  date: Date | null;
  /** The source value, kept when it is not a date between 2000 and 2100. */
  raw?: unknown;
  implausible?: boolean;
  /** How a number was read (by its magnitude); absent for text. */
  unit?: 's' | 'ms' | 'us' | 'ns';
}

/** Dates outside [2000-01-01, 2100-01-01) are implausible for these tools (e.g. `+051234` years, counters, durations). */
export const PLAUSIBLE_FROM_MS = Date.UTC(2000, 0, 1);
export const PLAUSIBLE_TO_MS = Date.UTC(2100, 0, 1);

/** Epoch units by magnitude: a plausible instant is in exactly one of these ranges. */
const UNITS: ReadonlyArray<{ unit: 's' | 'ms' | 'us' | 'ns'; toMs: number }> = [
  { unit: 's', toMs: 1000 },
  { unit: 'ms', toMs: 1 },
  { unit: 'us', toMs: 1e-3 },
  { unit: 'ns', toMs: 1e-6 },
];

// date, optional time (T or space) with optional fraction, optional zone; extended years allowed
const DATE_TEXT = /^([+-]\d{6}|\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)? ?(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/;
const DECIMAL_TEXT = /^[+]?\d{9,19}(?:\.\d+)?$/;

/**
 * Reads a timestamp value. Never throws: `{ date }` for a date between 2000 and 2100, `{ date:
 * null }` for NULL, and `{ date: null, raw, implausible: true }` for anything else (not a date,
 * or outside 2000–2100) so the caller can keep the raw value.
 *
 * Numbers (and text of digits) are read by magnitude: Unix seconds, milliseconds, microseconds
 * or nanoseconds, whichever falls within 2000–2100 (the ranges are disjoint). Text is SQLite's
 * `YYYY-MM-DD HH:MM:SS` or ISO 8601 (a zone-less time is UTC, as SQLite's are). `rule` only
 * breaks a tie, which cannot arise within 2000–2100.
 *
 * @example
 * parseTimestamp(1736121600000, 'unix-s').date?.toISOString() // '2025-01-06T00:00:00.000Z' (milliseconds, whatever the column rule)
 * parseTimestamp(1736121600, 'unix-ms').date?.toISOString()   // '2025-01-06T00:00:00.000Z' (seconds)
 * parseTimestamp('+051234-01-01T00:00:00.000Z', 'iso') // { date: null, raw: '+051234-…', implausible: true }
 */
export function parseTimestamp(value: unknown, rule: TimestampRule): ParsedTimestamp {
  if (value === null || value === undefined) return { date: null };
  let ms: number | null = null;
  let unit: ParsedTimestamp['unit'];
  if (typeof value === 'number' || typeof value === 'bigint') {
    const read = byMagnitude(typeof value === 'bigint' ? Number(value) : value, rule);
    if (read) ({ ms, unit } = read);
  } else if (typeof value === 'string') {
    const text = value.trim();
    if (DECIMAL_TEXT.test(text)) {
      const read = byMagnitude(Number(text), rule);
      if (read) ({ ms, unit } = read);
    } else ms = parseDateText(text);
  }
  if (ms === null || !Number.isFinite(ms) || ms < PLAUSIBLE_FROM_MS || ms >= PLAUSIBLE_TO_MS) {
    return { date: null, raw: value, implausible: true };
  }
  return unit ? { date: new Date(Math.trunc(ms)), unit } : { date: new Date(Math.trunc(ms)) };
}

/** The epoch unit under which `n` is a plausible instant (the rule's own unit first, should two ever fit). */
function byMagnitude(n: number, rule: TimestampRule): { ms: number; unit: 's' | 'ms' | 'us' | 'ns' } | null {
  if (!Number.isFinite(n) || n <= 0) return null;
  const fits = UNITS.filter((u) => {
    const ms = n * u.toMs;
    return ms >= PLAUSIBLE_FROM_MS && ms < PLAUSIBLE_TO_MS;
  });
  if (fits.length === 0) return null;
  const preferred = ruleUnit(rule);
  const pick = fits.find((u) => u.unit === preferred) ?? fits[0]!;
  // seconds with a fraction keep their milliseconds exactly (1736121600.123 → …600123)
  return { ms: pick.unit === 's' ? Math.round(n * 1000) : n * pick.toMs, unit: pick.unit };
}

function ruleUnit(rule: TimestampRule): 's' | 'ms' | 'us' | null {
  const list: readonly TimestampEncoding[] = typeof rule === 'string' ? [rule] : rule;
  for (const e of list) {
    if (e === 'unix-s') return 's';
    if (e === 'unix-ms' || e === 'unix-ms-seconds') return 'ms';
    if (e === 'unix-us') return 'us';
  }
  return null;
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

/** SQLite text and ISO 8601 (date only, zone-less = UTC, `T` or space, `Z` or an offset). */
function parseDateText(text: string): number | null {
  const m = DATE_TEXT.exec(text);
  if (!m) return null;
  if (m[4] === undefined && m[8] !== undefined) return null; // a zone without a time
  const base = utcMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? '0'), Number(m[5] ?? '0'), Number(m[6] ?? '0'), m[7]);
  if (base === null) return null;
  const zone = m[8];
  if (zone === undefined || zone === 'Z' || zone === 'z' || zone === 'UTC') return base;
  const zm = /^([+-])(\d{2}):?(\d{2})?$/.exec(zone);
  if (!zm) return null;
  const hours = Number(zm[2]);
  const minutes = Number(zm[3] ?? '0');
  if (hours > 23 || minutes > 59) return null;
  const offset = (hours * 60 + minutes) * 60_000;
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

/**
 * Checks a JSON-array embedding (already parsed, or JSON text): numbers only, finite, within the
 * float4 range (`precision` 'float4', for real[] columns; 'double' keeps any finite double),
 * `expectedDim` long when given.
 */
export function parseJsonEmbedding(value: unknown, expectedDim?: number | null, precision: 'float4' | 'double' = 'float4'): VectorResult {
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
    if (precision === 'float4' && (x >= FLOAT4_OVERFLOW || x <= -FLOAT4_OVERFLOW)) return { ok: false, problem: `element ${i} is ${x} (expected a number within the 4-byte float range, ±3.4e38)` };
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
