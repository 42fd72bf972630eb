// Shared pieces of the operator-command tests: SQLite edits of a built workspace, and a stable
// image of an aqe table (every column but the generated search_tsv) for exact comparisons.
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import type { Queryable } from '../../../functions/db/database.js';

/** Runs one statement on a SQLite file of the workspace (read-write, like the tool itself). */
export function sqliteRun(root: string, path: string, sql: string, ...params: unknown[]): number {
  const db = new Sqlite(join(root, path));
  try {
    return db.prepare(sql).run(...params).changes;
  } finally {
    db.close();
  }
}

export function sqliteAll<T>(root: string, path: string, sql: string, ...params: unknown[]): T[] {
  const db = new Sqlite(join(root, path), { readonly: true });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

/** `key → row as JSON text` of aqe.<table> for one environment (search_tsv left out: it is derived). */
export async function tableImage(db: Queryable, table: string, env: string, drop: readonly string[] = []): Promise<Map<string, string>> {
  const res = await db.query<{ k: string; v: string }>(
    `SELECT source_id || '/' || source_table || '/' || source_key AS k, (to_jsonb(t) - 'search_tsv' - $2::text[])::text AS v FROM aqe.${table} t WHERE source_env = $1`,
    [env, [...drop]],
  );
  return new Map(res.rows.map((r) => [r.k, r.v]));
}
