// The smallest database interface the loader, search and operator commands need. Two
// implementations: node-postgres (pool, COPY) for a server, PGlite (+pgvector) in-process for
// the embedded default. Everything above this file is written against it.

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

export interface Database extends Queryable {
  /** 'pg' (a server) or 'pglite' (in-process). */
  readonly kind: 'pg' | 'pglite';
  /** Where it points, without password. */
  readonly description: string;
  /** Runs `fn` in one transaction on one connection; commits, or rolls back and rethrows. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}
