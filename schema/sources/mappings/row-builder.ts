// Builds one TargetRow: converts each source value to its modelled column's type (text, jsonb,
// double, bigint, integer, boolean, timestamptz, real[], double[]), keeps unmodelled columns in `extra` and
// values that do not fit their column in `extra.$raw`. Pure.

import type { ColumnType, TargetRow } from '../../tables/target-tables.js';
import { targetTable } from '../../tables/target-tables.js';
import type { MapContext } from './map-context.js';
import { valueError } from './map-context.js';
import type { TimestampRule } from './values.js';
import { decodeFloat32Blob, parseJsonEmbedding, parseJsonText, parseTimestamp, setOwn, stripNul, toBoolean, toDouble, toInteger, toJsonSafe } from './values.js';

/** How to read one source value into a modelled column. */
export interface SetOptions {
  /** Required for `timestamptz` columns: the encodings this column may hold. */
  ts?: TimestampRule;
  /** `jsonb` from a TEXT column: parse JSON text (plain text becomes a JSON string). Default: true for strings. */
  jsonText?: boolean;
  /** `real[]`: the dimension the row records (checked against the vector). */
  dim?: number | null;
}

const columnTypeCache = new Map<string, Map<string, ColumnType>>();

function columnTypes(table: string): Map<string, ColumnType> {
  let m = columnTypeCache.get(table);
  if (!m) {
    m = new Map(targetTable(table).columns.map((c) => [c.name, c.type]));
    columnTypeCache.set(table, m);
  }
  return m;
}

/**
 * @example
 * const b = new RowBuilder(ctx, 'events', 'events', 'evt-1');
 * b.set('occurred_at', 'timestamp', row.timestamp, { ts: 'unix-ms' });
 * b.extra('ttl', row.ttl);
 * const out = b.build(contentHash(row), ['occurred_at']);
 */
export class RowBuilder {
  private readonly values: Record<string, unknown> = {};
  // made on first use: most rows have no unmodelled column kept raw
  private extras: Record<string, unknown> | null = null;
  private raw: Record<string, unknown> | null = null;
  private readonly types: Map<string, ColumnType>;

  constructor(
    private readonly ctx: MapContext,
    readonly target: string,
    readonly sourceTable: string,
    readonly key: string,
  ) {
    this.types = columnTypes(target);
  }

  /** Sets a modelled column from source column `from`. Throws VALUE_INVALID for oversize values and bad embeddings. */
  set(column: string, from: string, value: unknown, opts: SetOptions = {}): void {
    const type = this.types.get(column);
    if (!type) throw new TypeError(`target table "${this.target}" has no column "${column}"`);
    this.checkSize(from, value);
    if (value === null || value === undefined) return;
    const converted = this.convert(type, from, value, opts);
    if (converted === MISMATCH) {
      this.keepRaw(from, value);
      this.ctx.warnings.add('type-mismatch', this.sourceTable, from, 1, `row ${this.key}: ${preview(value)}`);
      return;
    }
    if (converted !== null) this.values[column] = converted;
  }

  /** Keeps an unmodelled source column in `extra` (NULLs are dropped: absence says the same). */
  extra(from: string, value: unknown): void {
    this.checkSize(from, value);
    if (value === null || value === undefined) return;
    setOwn((this.extras ??= {}), from, toJsonSafe(value, (n) => this.nul(from, n)));
  }

  /** The finished row; `updatedAt` lists timestamptz columns by preference (first non-NULL wins). */
  build(contentHash: string, updatedAt: readonly string[] = []): TargetRow {
    let sourceUpdatedAt: Date | null = null;
    for (const c of updatedAt) {
      const v = this.values[c];
      if (v instanceof Date) {
        sourceUpdatedAt = v;
        break;
      }
    }
    let extra: Record<string, unknown> | null = null;
    if (this.raw !== null) {
      extra = { ...this.extras };
      extra['$raw'] = this.raw;
    } else if (this.extras !== null) {
      // a builder makes one row: its extras are handed over, not copied
      extra = this.extras;
    }
    return { table: this.target, sourceTable: this.sourceTable, sourceKey: this.key, contentHash, sourceUpdatedAt, values: this.values, extra };
  }

  private keepRaw(from: string, value: unknown): void {
    setOwn((this.raw ??= {}), from, toJsonSafe(value));
  }

  private nul(from: string, removed: number): void {
    this.ctx.warnings.add('nul-stripped', this.sourceTable, from, removed, `row ${this.key}`);
  }

  private checkSize(from: string, value: unknown): void {
    let size = 0;
    if (typeof value === 'string') size = value.length * 3 > this.ctx.maxValueBytes ? Buffer.byteLength(value, 'utf8') : 0;
    else if (value instanceof Uint8Array) size = value.byteLength;
    if (size > this.ctx.maxValueBytes) {
      throw valueError(this.ctx, {
        table: this.sourceTable,
        key: this.key,
        field: from,
        expected: `a value of at most ${this.ctx.maxValueBytes} bytes`,
        got: `${size} bytes`,
        fix: 'Such a value is not learning data the tools write; remove or shorten it in the source, or exclude the source in aqe-sync.config.json, and push again (the limit is fixed: a larger value is not loaded).',
      });
    }
  }

  private convert(type: ColumnType, from: string, value: unknown, opts: SetOptions): unknown {
    switch (type) {
      case 'text': {
        if (typeof value === 'string') {
          const s = stripNul(value);
          if (s.removed > 0) this.nul(from, s.removed);
          return s.text;
        }
        if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
        if (value instanceof Uint8Array) return MISMATCH;
        if (typeof value === 'object') return JSON.stringify(toJsonSafe(value, (n) => this.nul(from, n)));
        return MISMATCH;
      }
      case 'jsonb': {
        if (typeof value === 'string' && opts.jsonText !== false) {
          const parsed = parseJsonText(value, { maxDepth: this.ctx.maxJsonDepth });
          if (parsed.nulRemoved > 0) this.nul(from, parsed.nulRemoved);
          if (parsed.note) this.ctx.warnings.add('json-kept-as-text', this.sourceTable, from, 1, `row ${this.key}: ${parsed.note}`);
          return parsed.value;
        }
        return toJsonSafe(value, (n) => this.nul(from, n));
      }
      case 'double':
        return toDouble(value) ?? MISMATCH;
      case 'bigint': {
        const i = toInteger(value);
        // an integral double such as 1e20 is no bigint either: kept raw, not refused by the database later
        return i === undefined || i < INT64_MIN || i > INT64_MAX ? MISMATCH : i;
      }
      case 'integer': {
        const i = toInteger(value);
        return typeof i === 'number' && i >= -2_147_483_648 && i <= 2_147_483_647 ? i : MISMATCH;
      }
      case 'boolean': {
        const b = toBoolean(value);
        return b === undefined ? MISMATCH : b;
      }
      case 'timestamptz': {
        if (!opts.ts) throw new TypeError(`no timestamp rule for ${this.target}.${from}`);
        const t = parseTimestamp(value, opts.ts);
        if (t.implausible) {
          this.keepRaw(from, value);
          this.ctx.warnings.add('implausible-timestamp', this.sourceTable, from, 1, `row ${this.key}: ${preview(value)}`);
          return null;
        }
        return t.date;
      }
      case 'real[]':
      case 'double[]': {
        const r = value instanceof Uint8Array ? decodeFloat32Blob(value, opts.dim) : parseJsonEmbedding(value, opts.dim, type === 'double[]' ? 'double' : 'float4');
        if (!r.ok) {
          throw valueError(this.ctx, {
            table: this.sourceTable,
            key: this.key,
            field: from,
            expected: value instanceof Uint8Array ? 'a Float32 little-endian vector of the recorded dimension with finite values' : 'a JSON array of finite numbers of the recorded dimension',
            got: r.problem,
            fix: 'The embedding is damaged or of another model; re-embed or delete that row in the source and push again.',
          });
        }
        return r.vector;
      }
    }
  }
}

const MISMATCH = Symbol('mismatch');
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function preview(value: unknown): string {
  if (value instanceof Uint8Array) return `<${value.byteLength}-byte BLOB>`;
  // JSON for objects: String() throws on a parsed object with a "toString" or "valueOf" member
  const s = typeof value === 'string' || (typeof value === 'object' && value !== null) ? JSON.stringify(toJsonSafe(value)) : String(value);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}
