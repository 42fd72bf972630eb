// Row identity: canonical JSON of a source row, its sha256 content hash, and source keys (declared
// primary keys, composite keys, keys derived from content where none exists). Pure.

import { createHash, hash as oneShotHash } from 'node:crypto';

/**
 * Bumped when a mapping changes what it produces from the same source row, so every row counts
 * as changed once and is rewritten.
 */
export const MAPPING_VERSION = 2;
// 2: timestamps read by magnitude, claude-flow 3.x / ReasoningBank / captured_experiences modelled,
//    store.json createdAt and JSON-in-string values, both trajectory shapes, float64 hash vectors

/**
 * Canonical JSON of any value a source row can hold: object keys sorted, `undefined` members
 * dropped, BLOBs as `{"$bytes":"<base64>"}` (every byte counts), bigints as `{"$bigint":"…"}`,
 * non-finite numbers as `{"$number":"Infinity"}`, Dates as `{"$date":"<ISO>"}`. Never throws.
 */
export function canonicalJson(value: unknown): string {
  return write(value);
}

// String concatenation (V8 ropes) beats array push/join for the many small pieces of a row.
function write(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      if (Number.isFinite(v)) return Object.is(v, -0) ? '0' : String(v);
      return `{"$number":"${String(v)}"}`;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      // An integer that fits a double hashes like the same number read without safeIntegers.
      return Number.isSafeInteger(Number(v)) ? String(v) : `{"$bigint":"${v.toString()}"}`;
    case 'object':
      break;
    default:
      return JSON.stringify(String(v));
  }
  if (v instanceof Uint8Array) return `{"$bytes":"${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')}"}`;
  if (v instanceof Date) return `{"$date":${JSON.stringify(Number.isNaN(v.getTime()) ? null : v.toISOString())}}`;
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i > 0 ? ',' : '') + write(v[i]);
    return `${out}]`;
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const x = obj[k];
    if (x === undefined) continue;
    out += `${first ? '' : ','}${JSON.stringify(k)}:${write(x)}`;
    first = false;
  }
  return `${out}}`;
}

/** sha256 hex of a source row's canonical JSON (with the mapping version): same row, same hash. */
export function contentHash(row: unknown): string {
  const text = `aqe-row-v${MAPPING_VERSION}\n${canonicalJson(row)}`;
  // crypto.hash (Node ≥ 20.12) avoids a Hash object per row.
  return typeof oneShotHash === 'function' ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
}

/**
 * A content hasher for flat rows that all have the same columns (SQLite `SELECT *`): same result
 * as {@link contentHash}, with the sorted, quoted column names prepared once.
 */
export function flatRowHasher(columns: readonly string[]): (row: Record<string, unknown>) => string {
  const sorted = [...columns].sort();
  const prefixes = sorted.map((c, i) => `${i > 0 ? ',' : ''}${JSON.stringify(c)}:`);
  const head = `aqe-row-v${MAPPING_VERSION}\n{`;
  return (row) => {
    let text = head;
    let first = true;
    for (let i = 0; i < sorted.length; i++) {
      const v = row[sorted[i] as string];
      if (v === undefined) continue;
      // A skipped first column would leave a leading comma: fall back to the general path.
      if (first && i > 0) return contentHash(row);
      text += (prefixes[i] as string) + write(v);
      first = false;
    }
    text += '}';
    return typeof oneShotHash === 'function' ? oneShotHash('sha256', text, 'hex') : createHash('sha256').update(text).digest('hex');
  };
}

/**
 * The source key of a row from its primary-key values: one value as itself (integers in
 * decimal), a composite key as a JSON array (`["ns","key"]`), which cannot be confused with a
 * different split. Returns `undefined` when a key part is NULL, a BLOB or otherwise unusable.
 */
export function keyFromValues(values: readonly unknown[]): string | undefined {
  const parts: Array<string | number> = [];
  for (const v of values) {
    if (typeof v === 'string') parts.push(v);
    else if (typeof v === 'number' && Number.isFinite(v)) parts.push(v);
    else if (typeof v === 'bigint') parts.push(Number.isSafeInteger(Number(v)) ? Number(v) : v.toString());
    else return undefined;
  }
  if (parts.length === 0) return undefined;
  if (parts.length === 1) return String(parts[0]);
  return JSON.stringify(parts);
}

/** A key derived from content, for rows without a usable primary key: `h:<first 32 hex of the content hash>`. */
export function derivedKey(hash: string): string {
  return `h:${hash.slice(0, 32)}`;
}

/**
 * Keeps keys unique in one collection: the first occurrence keeps `base`, later ones become
 * `base#2`, `base#3`… Deterministic for the same input order.
 */
export class OccurrenceKeys {
  private readonly seen = new Map<string, number>();
  private readonly produced = new Set<string>();
  next(base: string): string {
    let n = this.seen.get(base) ?? 0;
    let key: string;
    // Skips a suffixed key that an earlier base already produced (`a#2` given as a base).
    do {
      n++;
      key = n === 1 ? base : `${base}#${n}`;
    } while (this.produced.has(key));
    this.seen.set(base, n);
    this.produced.add(key);
    return key;
  }
}
