// The smallest database interface the loader, search and operator commands need. Two
// connections: node-postgres (pool, COPY) for a server, PGlite (+pgvector) in-process for the
// embedded default. A migrated connection is a `Database`: it carries its vector dialect (the
// module in dialects/), and so does every transaction on it, so no signature above this folder
// passes a dialect beside the handle (open-database.ts `openMigratedDatabase`, migrate.ts
// `ensureMigrated`). Everything above this file is written against these types.
import type { DialectSql } from './dialects/dialect-sql.js';

export type SqlParam = string | number | bigint | boolean | null | Date | Buffer | unknown[] | Record<string, unknown>;

export interface QueryResult<R = Record<string, unknown>> {
  rows: R[];
  rowCount: number;
}

/** A connection inside one transaction (or a plain session outside one). */
export interface Queryable {
  query<R = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<R>>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
  /**
   * Bulk-load rows into `table` (already existing, e.g. a TEMP staging table) with COPY FROM
   * STDIN (text format) where supported. `rows` yields one array per row, in `columns` order;
   * values are already encoded: string | null (see `encodeCopyValue`).
   */
  copyRows(table: string, columns: readonly string[], rows: AsyncIterable<(string | null)[]> | Iterable<(string | null)[]>): Promise<number>;
}

/** A connection (pool or in-process), migrated or not: what opening a URL gives. */
export interface DatabaseConnection extends Queryable {
  /** 'pg' (a server) or 'pglite' (in-process). */
  readonly kind: 'pg' | 'pglite';
  /** Where it points, without password. */
  readonly description: string;
  /** Runs `fn` in one transaction on one connection; commits, or rolls back and rethrows. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A Queryable that knows the vector dialect of its database (a migrated one). */
export interface DialectQueryable extends Queryable {
  /** The dialect's SQL fragments and vector encoding (dialects/<name>.ts). */
  readonly dialect: DialectSql;
}

/**
 * A migrated database: the connection, its dialect, and transactions that know it. PGlite and a
 * server yield the same type. Made by `openMigratedDatabase` / `ensureMigrated`, never by hand.
 */
export interface Database extends DatabaseConnection, DialectQueryable {
  transaction<T>(fn: (tx: DialectQueryable) => Promise<T>): Promise<T>;
}
