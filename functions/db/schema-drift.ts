// Schema drift: what the applied migrations built (tables and their columns, indexes, primary and
// unique keys, views), read from the migration files themselves, against what the database holds.
// Someone who drops an `aqe` table by hand used to get "up to date" from migrate and a failure on
// every changing load; now migrate names each missing object and the statement that made it.

import type { Queryable } from './database.js';
import type { VectorDialect } from './dialect.js';
import { type MigrationStep, migrationFileFor } from './migrate.js';

export interface ExpectedSchema {
  /** table → its columns, and the migration file that created it. */
  tables: Map<string, { columns: Map<string, string>; file: string }>;
  /** index name → its table, the statement that creates it (null: a key's index) and its file. */
  indexes: Map<string, { table: string; statement: string | null; file: string }>;
  views: Map<string, string>;
}

const IDENT = '([a-z_][a-z0-9_]*)';
/** A column name, plain or double-quoted ("key", "partition"). */
const COLUMN = '(?:"([^"]+)"|([a-z_][a-z0-9_]*))';

/** Top-level statements of a migration file, comments removed. */
function statements(sql: string): string[] {
  return sql
    .replace(/--[^\n]*/g, '')
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** The part of `text` inside the parentheses that open at `open` (nesting respected). */
function parenBody(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

/** Splits a column list at top-level commas. */
function topLevelItems(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === '(') depth++;
    else if (body[i] === ')') depth--;
    else if (body[i] === ',' && depth === 0) {
      out.push(body.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(body.slice(start).trim());
  return out.filter((s) => s !== '');
}

/**
 * What the migrations of `dialect` build, from their SQL (pure).
 * @example expectedSchema(await loadMigrations(), 'pgvector').tables.get('events')?.columns.has('source_key') // true
 */
export function expectedSchema(steps: readonly MigrationStep[], dialect: VectorDialect): ExpectedSchema {
  const out: ExpectedSchema = { tables: new Map(), indexes: new Map(), views: new Map() };
  for (const step of steps) {
    const { file, sql } = migrationFileFor(step, dialect);
    for (const stmt of statements(sql)) {
      const create = new RegExp(`^CREATE TABLE (?:IF NOT EXISTS )?aqe\\.${IDENT}\\s*\\(`, 'i').exec(stmt);
      if (create) {
        const table = create[1]!;
        const columns = new Map<string, string>();
        for (const item of topLevelItems(parenBody(stmt, create[0].length - 1))) {
          if (/^(PRIMARY KEY|UNIQUE|CONSTRAINT|CHECK|FOREIGN KEY|EXCLUDE)\b/i.test(item)) {
            if (/^PRIMARY KEY\b/i.test(item) || /^CONSTRAINT \S+ PRIMARY KEY\b/i.test(item)) out.indexes.set(`${table}_pkey`, { table, statement: null, file });
            continue;
          }
          const m = new RegExp(`^${COLUMN}\\s`, 'i').exec(item);
          const col = m?.[1] ?? m?.[2];
          if (!col) continue;
          columns.set(col, file);
          if (/\bPRIMARY KEY\b/i.test(item)) out.indexes.set(`${table}_pkey`, { table, statement: null, file });
          if (/\bUNIQUE\b/i.test(item)) out.indexes.set(`${table}_${col}_key`, { table, statement: null, file });
        }
        out.tables.set(table, { columns, file });
        continue;
      }
      const alter = new RegExp(`^ALTER TABLE (?:IF EXISTS )?aqe\\.${IDENT}\\s`, 'i').exec(stmt);
      if (alter) {
        const t = out.tables.get(alter[1]!);
        for (const m of stmt.matchAll(new RegExp(`ADD COLUMN (?:IF NOT EXISTS )?${COLUMN}`, 'gi'))) t?.columns.set((m[1] ?? m[2])!, file);
        for (const m of stmt.matchAll(new RegExp(`DROP COLUMN (?:IF EXISTS )?${COLUMN}`, 'gi'))) t?.columns.delete((m[1] ?? m[2])!);
        continue;
      }
      const index = new RegExp(`^CREATE (?:UNIQUE )?INDEX (?:CONCURRENTLY )?(?:IF NOT EXISTS )?${IDENT} ON (?:ONLY )?aqe\\.${IDENT}`, 'i').exec(stmt);
      if (index) {
        out.indexes.set(index[1]!, { table: index[2]!, statement: `${stmt};`, file });
        continue;
      }
      const drop = new RegExp(`^DROP INDEX (?:IF EXISTS )?(?:aqe\\.)?${IDENT}`, 'i').exec(stmt);
      if (drop) {
        out.indexes.delete(drop[1]!);
        continue;
      }
      const view = new RegExp(`^CREATE (?:OR REPLACE )?VIEW aqe\\.${IDENT}`, 'i').exec(stmt);
      if (view) out.views.set(view[1]!, file);
    }
  }
  return out;
}

/**
 * Every way the database differs from `expected` (missing tables, columns, indexes, views), each
 * naming the object, the migration that made it and, for an index, the statement that re-creates
 * it; empty when it holds everything. Reads the catalog only (any role may run it).
 */
export async function schemaDrift(db: Queryable, expected: ExpectedSchema): Promise<string[]> {
  const cols = await db.query<{ t: string; c: string }>(
    `SELECT c.relname AS t, a.attname AS c FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'aqe' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  const have = new Map<string, Set<string>>();
  for (const r of cols.rows) (have.get(r.t) ?? have.set(r.t, new Set()).get(r.t)!).add(r.c);
  const indexes = new Set((await db.query<{ i: string }>(`SELECT indexname AS i FROM pg_indexes WHERE schemaname = 'aqe'`)).rows.map((r) => r.i));
  const views = new Set((await db.query<{ v: string }>(`SELECT viewname AS v FROM pg_views WHERE schemaname = 'aqe'`)).rows.map((r) => r.v));
  const problems: string[] = [];
  for (const [table, t] of expected.tables) {
    const present = have.get(table);
    if (!present) {
      problems.push(`table aqe.${table} is missing (created by ${t.file})`);
      continue;
    }
    for (const [col, file] of t.columns) if (!present.has(col)) problems.push(`column aqe.${table}.${col} is missing (added by ${file})`);
  }
  for (const [name, i] of expected.indexes) {
    if (indexes.has(name) || !have.has(i.table)) continue;
    problems.push(i.statement ? `index aqe.${name} on aqe.${i.table} is missing (${i.file}); re-create it: ${i.statement.replace(/\s+/g, ' ')}` : `the key aqe.${name} of aqe.${i.table} is missing (${i.file})`);
  }
  for (const [view, file] of expected.views) if (!views.has(view)) problems.push(`view aqe.${view} is missing (created by ${file})`);
  return problems;
}
