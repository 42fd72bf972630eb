// Generators of real, small SQLite files for the fuzz targets: random schemas (the tables the
// mappings know, with any subset of their columns, and arbitrary or SQL-looking tables and
// columns; declared types, collations, composite keys, WITHOUT ROWID, STRICT, FTS5 and R*Tree
// tables), random values of every storage class (64-bit integers, NaN/±Infinity/-0 reals, text
// with NUL or invalid UTF-8, blobs, Float32 vectors), WAL or rollback journal, and damage to the
// finished file (flipped bytes, truncation, overwritten pages, random bytes under the header).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { SQLITE_MAPPINGS } from '../../schema/sources/mappings/sqlite-mappings.js';
import { nastyString } from './json-arbitraries.js';
import { jsonTextOf, anyJsonNode, timestampNode } from './json-arbitraries.js';

/** One SQLite value, by storage class (`badText`: bytes stored as TEXT, usually invalid UTF-8). */
export type SqlCell = null | { int: bigint } | { real: number } | { text: string } | { blob: Uint8Array } | { badText: Uint8Array };

export interface SqlColumn {
  name: string;
  /** Everything after the name in the column definition (type, collation), possibly empty. */
  decl: string;
}

export interface SqlTable {
  name: string;
  kind: 'table' | 'without-rowid' | 'strict' | 'fts5' | 'rtree';
  columns: SqlColumn[];
  /** How many leading columns form the primary key (0: none). */
  pkColumns: number;
  rows: SqlCell[][];
}

export type SqliteDamage =
  | { kind: 'flip'; at: number[]; bytes: number[] }
  | { kind: 'truncate'; keep: number }
  | { kind: 'page'; page: number; fill: number }
  | { kind: 'header-field'; offset: number; value: number }
  | { kind: 'garbage'; bytes: Uint8Array };

export interface SqliteSpec {
  tables: SqlTable[];
  wal: boolean;
  damage: SqliteDamage | null;
}

/** Column names per mapped table name: every source column any mapping of that name reads. */
const MAPPED_COLUMNS: ReadonlyMap<string, readonly string[]> = (() => {
  const m = new Map<string, Set<string>>();
  for (const mapping of SQLITE_MAPPINGS) {
    for (const table of mapping.tables) {
      const set = m.get(table) ?? new Set(['id', 'key']);
      for (const f of mapping.fields) {
        for (const c of f.from) set.add(c);
        for (const c of f.dimFrom ?? []) set.add(c);
      }
      if (table === 'memory_entries') ['partition', 'namespace'].forEach((c) => set.add(c));
      if (table === 'patterns') ['pattern', 'pattern_data'].forEach((c) => set.add(c));
      m.set(table, set);
    }
  }
  return new Map([...m].map(([k, v]) => [k, [...v]]));
})();

export const MAPPED_TABLE_NAMES = [...MAPPED_COLUMNS.keys()];

const identifier = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/);
/** Names SQLite accepts but the tools never create (the reader must refuse or handle them). */
const oddName = fc.oneof(
  fc.constantFrom('evil; DROP TABLE aqe.events; --', 'a"b', 'with space', 'ünïcode', 'x.y', '1abc', "it's", '[brackets]', '__proto__', 'constructor', 'toString', 'SELECT', 'order', '$raw', 'a-b'),
  nastyString.filter((s) => s.length > 0 && !s.includes('\u0000')),
);
const tableName = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...MAPPED_TABLE_NAMES) }, { weight: 3, arbitrary: identifier }, { weight: 1, arbitrary: oddName });
const columnName = (known: readonly string[]) =>
  fc.oneof({ weight: known.length > 0 ? 6 : 0, arbitrary: fc.constantFrom(...(known.length > 0 ? known : ['x'])) }, { weight: 2, arbitrary: identifier }, { weight: 1, arbitrary: oddName });
const decl = fc.constantFrom('', 'TEXT', 'INTEGER', 'REAL', 'BLOB', 'NUMERIC', 'JSON', 'VARCHAR(10)', 'DATETIME', 'TEXT COLLATE NOCASE', 'COLLATE NOCASE', 'TEXT COLLATE RTRIM', 'INTEGER NOT NULL DEFAULT 0');

const f32 = (values: number[]) => {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return new Uint8Array(b);
};

/** A value of any storage class, biased towards what the mappings look at. */
export const sqlCell: fc.Arbitrary<SqlCell> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((int) => ({ int })) },
  { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }).map((n) => ({ int: BigInt(n) })) },
  { weight: 2, arbitrary: fc.integer({ min: Date.UTC(1999, 0, 1), max: Date.UTC(2101, 0, 1) }).map((n) => ({ int: BigInt(n) })) },
  { weight: 1, arbitrary: fc.integer({ min: Date.UTC(1999, 0, 1) / 1000, max: Date.UTC(2101, 0, 1) / 1000 }).map((n) => ({ int: BigInt(n) })) },
  { weight: 2, arbitrary: fc.double().map((real) => ({ real })) },
  { weight: 4, arbitrary: nastyString.map((text) => ({ text })) },
  { weight: 2, arbitrary: anyJsonNode.map((n) => ({ text: jsonTextOf(n) })) },
  { weight: 1, arbitrary: timestampNode.map((n) => ({ text: n.t === 'str' ? n.s : jsonTextOf(n) })) },
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 24 }).map((blob) => ({ blob })) },
  { weight: 1, arbitrary: fc.array(fc.float(), { maxLength: 8 }).map((v) => ({ blob: f32(v) })) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map((badText) => ({ badText })) },
);

/** A cell SQLite may store apart from `cell` although it compares equal or looks the same: other case, trailing space, other storage class. */
function lookAlike(cell: SqlCell, op: number): SqlCell {
  if (cell === null || op === 0) return cell;
  if ('text' in cell) {
    if (op === 1) return { text: cell.text.toUpperCase() === cell.text ? cell.text.toLowerCase() : cell.text.toUpperCase() };
    if (op === 2) return { text: `${cell.text} ` };
    return /^-?\d{1,15}$/.test(cell.text) ? { int: BigInt(cell.text) } : { blob: new Uint8Array(Buffer.from(cell.text, 'utf8')) };
  }
  if ('int' in cell) return op === 3 ? { text: cell.int.toString() } : { real: Number(cell.int) };
  if ('real' in cell) return Number.isInteger(cell.real) && op === 3 ? { int: BigInt(cell.real) } : { text: String(cell.real) };
  if ('blob' in cell) return { text: Buffer.from(cell.blob).toString('latin1') };
  return cell;
}

/** Rows: independent, or one row and look-alikes of it (what tests keys and the keyless ordering). */
const tableRows: fc.Arbitrary<SqlCell[][]> = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.array(sqlCell, { minLength: 8, maxLength: 8 }), { maxLength: 6 }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.array(sqlCell, { minLength: 8, maxLength: 8 }), fc.array(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 8, maxLength: 8 }), { minLength: 1, maxLength: 5 }))
      .map(([base, variants]) => [base, ...variants.map((ops) => base.map((c, i) => lookAlike(c, ops[i] ?? 0)))]),
  },
);

const table: fc.Arbitrary<SqlTable> = tableName.chain((name) => {
  const known = MAPPED_COLUMNS.get(name) ?? [];
  return fc
    .record({
      kind: fc.oneof(
        { weight: 12, arbitrary: fc.constant('table' as const) },
        { weight: 2, arbitrary: fc.constant('without-rowid' as const) },
        { weight: 1, arbitrary: fc.constant('strict' as const) },
        { weight: 1, arbitrary: fc.constant('fts5' as const) },
        { weight: 1, arbitrary: fc.constant('rtree' as const) },
      ),
      columns: fc.uniqueArray(fc.record({ name: columnName(known), decl }), { minLength: 1, maxLength: 8, selector: (c) => c.name.toLowerCase() }),
      pkColumns: fc.integer({ min: 0, max: 3 }),
      rows: tableRows,
    })
    .map((t) => ({ name, ...t, pkColumns: Math.min(t.pkColumns, t.columns.length) }));
});

export const sqliteDamage: fc.Arbitrary<SqliteDamage | null> = fc.oneof(
  { weight: 10, arbitrary: fc.constant(null) },
  {
    weight: 2,
    arbitrary: fc
      .array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 24 })
      .map((flips) => ({ kind: 'flip' as const, at: flips.map((f) => f[0]), bytes: flips.map((f) => f[1]) })),
  },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }).map((keep) => ({ kind: 'truncate' as const, keep })) },
  { weight: 1, arbitrary: fc.record({ page: fc.integer({ min: 0, max: 8 }), fill: fc.integer({ min: 0, max: 255 }) }).map((p) => ({ kind: 'page' as const, ...p })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ offset: fc.constantFrom(16, 18, 19, 20, 21, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 92, 96, 100, 101, 103, 105, 107), value: fc.integer({ min: 0, max: 255 }) })
      .map((h) => ({ kind: 'header-field' as const, ...h })),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2048 }).map((bytes) => ({ kind: 'garbage' as const, bytes })) },
);

/** A SQLite file spec: up to 4 tables (names unique as SQLite compares them), journal mode, damage. */
export const sqliteSpec: fc.Arbitrary<SqliteSpec> = fc.record({
  tables: fc.uniqueArray(table, { minLength: 0, maxLength: 4, selector: (t) => t.name.toLowerCase() }),
  wal: fc.boolean(),
  damage: sqliteDamage,
});

const SQLITE_HEADER = Buffer.from('SQLite format 3\u0000', 'latin1');
const q = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The SQL value expression and parameter of one cell. */
function bind(cell: SqlCell, kind: SqlTable['kind']): [string, unknown] {
  if (kind === 'fts5') {
    // FTS5 keeps text; anything else is stored as its text form
    if (cell === null) return ['?', null];
    if ('text' in cell) return ['?', cell.text];
    if ('int' in cell) return ['?', cell.int.toString()];
    if ('real' in cell) return ['?', String(cell.real)];
    return ['?', Buffer.from('blob' in cell ? cell.blob : cell.badText).toString('latin1')];
  }
  if (cell === null) return ['?', null];
  if ('int' in cell) return ['?', cell.int];
  if ('real' in cell) return ['?', cell.real];
  if ('text' in cell) return ['?', cell.text];
  if ('blob' in cell) return ['?', Buffer.from(cell.blob)];
  return ['CAST(? AS TEXT)', Buffer.from(cell.badText)];
}

function createSql(t: SqlTable): string {
  if (t.kind === 'fts5') return `CREATE VIRTUAL TABLE ${q(t.name)} USING fts5(${t.columns.map((c) => q(c.name)).join(', ')})`;
  if (t.kind === 'rtree') return `CREATE VIRTUAL TABLE ${q(t.name)} USING rtree(id, minX, maxX)`;
  const cols = t.columns.map((c) => `${q(c.name)} ${t.kind === 'strict' ? 'ANY' : c.decl}`.trimEnd());
  const pk = t.pkColumns > 0 || t.kind === 'without-rowid' ? `, PRIMARY KEY (${t.columns.slice(0, Math.max(1, t.pkColumns)).map((c) => q(c.name)).join(', ')})` : '';
  const options = t.kind === 'without-rowid' ? ' WITHOUT ROWID' : t.kind === 'strict' ? ' STRICT' : '';
  return `CREATE TABLE ${q(t.name)} (${cols.join(', ')}${pk})${options}`;
}

/**
 * Writes the SQLite file `spec` describes to `file` (tables SQLite itself refuses are left out;
 * rows violating a constraint are skipped), then damages it. Returns the tables created.
 */
export function writeSqliteFile(file: string, spec: SqliteSpec): string[] {
  for (const suffix of ['', '-wal', '-shm', '-journal']) rmSync(`${file}${suffix}`, { force: true });
  const db = new Database(file);
  const created: string[] = [];
  try {
    // no fsync per statement (a case would cost ~50 ms); the closed file is complete either way
    db.pragma('synchronous = OFF');
    if (spec.wal) db.pragma('journal_mode = WAL');
    db.exec('BEGIN');
    for (const t of spec.tables) {
      try {
        db.exec(createSql(t));
      } catch {
        continue;
      }
      created.push(t.name);
      const width = t.kind === 'rtree' ? 3 : t.columns.length;
      for (const row of t.rows) {
        const cells = row.slice(0, width);
        const parts = cells.map((c) => bind(c, t.kind));
        try {
          db.prepare(`INSERT OR IGNORE INTO ${q(t.name)} VALUES (${parts.map((p) => p[0]).join(', ')})`).run(...parts.map((p) => p[1]));
        } catch {
          // a value this kind of table refuses (rtree coordinates, STRICT, NOT NULL): not inserted
        }
      }
    }
    db.exec('COMMIT');
  } finally {
    db.close();
  }
  if (spec.damage) writeFileSync(file, damageSqlite(readFileSync(file), spec.damage));
  return created;
}

function damageSqlite(bytes: Buffer, damage: SqliteDamage): Buffer {
  const out = Buffer.from(bytes);
  switch (damage.kind) {
    case 'flip':
      damage.at.forEach((at, i) => {
        out[Math.floor(at * out.length)] = damage.bytes[i] ?? 0;
      });
      return out;
    case 'truncate':
      return out.subarray(0, Math.floor(out.length * damage.keep));
    case 'page': {
      const pageSize = out.length >= 18 ? out.readUInt16BE(16) || 65536 : 4096;
      const start = damage.page * pageSize;
      if (start < out.length) out.fill(damage.fill, start, Math.min(out.length, start + pageSize));
      return out;
    }
    case 'header-field':
      if (damage.offset < out.length) out[damage.offset] = damage.value;
      return out;
    case 'garbage':
      return Buffer.concat([SQLITE_HEADER, Buffer.from(damage.bytes)]);
  }
}
