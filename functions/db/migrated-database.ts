// A migrated connection with its dialect on it: every call goes to the connection, and every
// transaction's `tx` carries the dialect too, so the code that builds SQL reads it from the
// handle it already holds. Made only by migrate.ts `ensureMigrated` (after the migration decided
// the dialect) and open-database.ts `openMigratedDatabase`.
import type { Database, DatabaseConnection, DialectQueryable, Queryable, QueryResult, SqlParam } from './database.js';
import type { DialectSql } from './dialects/dialect-sql.js';

export class MigratedDatabase implements Database {
  constructor(
    /** The connection underneath (closing either closes both). */
    readonly connection: DatabaseConnection,
    readonly dialect: DialectSql,
  ) {}

  get kind(): 'pg' | 'pglite' {
    return this.connection.kind;
  }

  get description(): string {
    return this.connection.description;
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<R>> {
    return this.connection.query<R>(sql, params);
  }

  exec(sql: string): Promise<void> {
    return this.connection.exec(sql);
  }

  copyRows(table: string, columns: readonly string[], rows: AsyncIterable<(string | null)[]> | Iterable<(string | null)[]>): Promise<number> {
    return this.connection.copyRows(table, columns, rows);
  }

  transaction<T>(fn: (tx: DialectQueryable) => Promise<T>): Promise<T> {
    return this.connection.transaction((tx) => fn(withDialect(tx, this.dialect)));
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}

/** `tx` with the dialect on it (the calls still go to `tx`). */
export function withDialect(tx: Queryable, dialect: DialectSql): DialectQueryable {
  return {
    dialect,
    query: (sql, params) => tx.query(sql, params),
    exec: (sql) => tx.exec(sql),
    copyRows: (table, columns, rows) => tx.copyRows(table, columns, rows),
  };
}
