// Database on a PostgreSQL server through a node-postgres pool: parameterized queries, bulk rows
// with COPY FROM STDIN (text format, streamed with backpressure), transactions on one client.
// Every driver error leaves as an AppError (pg-error-kind.ts).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { DatabaseConnection, QueryResult, Queryable, SqlParam } from './database.js';
import { copyLine, copySql, isAsyncIterable } from './copy-encoding.js';
import { redactSecrets, toDbError } from './pg-error-kind.js';
import { AppError } from '../../schema/errors.js';

export interface PgDatabaseOptions {
  /** Pool size (default 5). */
  max?: number;
  connectionTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** statement_timeout for every session (default: server's). */
  statementTimeoutMs?: number;
  applicationName?: string;
  ssl?: pg.PoolConfig['ssl'];
}

// int8 as a number when exact, else a bigint: the same as PGlite, so callers see one shape.
const parseInt8 = (v: string): number | bigint => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : BigInt(v);
};
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 && format !== 'binary' ? parseInt8 : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/** COPY data goes out in Buffers of about this size (one socket write each). */
const COPY_CHUNK_BYTES = 1 << 18;

/** `postgres://user@host:port/db` (never the password). */
export function describePgUrl(url: string): string {
  try {
    const u = new URL(url);
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${u.protocol}//${user}${u.host}${u.pathname}`;
  } catch {
    return redactSecrets(url).replace(/\?.*$/, '');
  }
}

/**
 * Fills Buffers of COPY text line by line: each line is written as UTF-8 straight into the
 * current Buffer (no long string of many lines that the stream would flatten and encode again,
 * which was ~10 % of the loader's client time), and a full Buffer is handed over whole.
 */
class CopyBuffer {
  private buf = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
  private used = 0;
  /** Adds one line; returns a full Buffer to send, or null. */
  add(line: string): Buffer | null {
    // a UTF-16 code unit is at most 3 bytes of UTF-8
    if (this.used + line.length * 3 <= this.buf.length) {
      this.used += this.buf.write(line, this.used, 'utf8');
      return null;
    }
    const full = this.take();
    if (line.length * 3 > this.buf.length) {
      // a line longer than a chunk goes alone, after what was pending
      const own = Buffer.from(line, 'utf8');
      return full ? Buffer.concat([full, own]) : own;
    }
    this.used = this.buf.write(line, 0, 'utf8');
    return full;
  }
  /** What is pending (null when nothing), in a Buffer of its own; later lines go to a new one. */
  take(): Buffer | null {
    if (this.used === 0) return null;
    const out = this.buf.subarray(0, this.used);
    this.buf = Buffer.allocUnsafe(COPY_CHUNK_BYTES);
    this.used = 0;
    return out;
  }
}

// Sync rows give a sync generator: a `for await` over them would cost a microtask per row.
function copyText(rows: AsyncIterable<(string | null)[]> | Iterable<(string | null)[]>, width: number, count: { n: number }): Iterable<Buffer> | AsyncIterable<Buffer> {
  if (isAsyncIterable(rows)) {
    return (async function* () {
      const out = new CopyBuffer();
      for await (const row of rows) {
        const full = out.add(copyLine(row, width, ++count.n));
        if (full) yield full;
      }
      const rest = out.take();
      if (rest) yield rest;
    })();
  }
  return (function* () {
    const out = new CopyBuffer();
    for (const row of rows) {
      const full = out.add(copyLine(row, width, ++count.n));
      if (full) yield full;
    }
    const rest = out.take();
    if (rest) yield rest;
  })();
}


class PgSession implements Queryable {
  done = false;
  /** Set when the connection failed: the client must be destroyed, not reused. */
  broken: Error | undefined;
  constructor(private readonly client: pg.PoolClient) {}

  private check(): void {
    if (this.done) throw new AppError('INTERNAL', 'this transaction has already ended; use the Queryable only inside its transaction callback');
  }

  async query<R = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<R>> {
    this.check();
    try {
      const res = await this.client.query(sql, params as unknown[] | undefined);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? res.rows.length };
    } catch (err) {
      throw this.fail(err, 'query');
    }
  }

  async exec(sql: string): Promise<void> {
    this.check();
    try {
      await this.client.query(sql);
    } catch (err) {
      throw this.fail(err, 'exec');
    }
  }

  async copyRows(table: string, columns: readonly string[], rows: AsyncIterable<(string | null)[]> | Iterable<(string | null)[]>): Promise<number> {
    this.check();
    const count = { n: 0 };
    try {
      const stream = this.client.query(copyFrom(copySql(table, columns, 'STDIN')));
      await pipeline(Readable.from(copyText(rows, columns.length, count)), stream);
      return count.n;
    } catch (err) {
      throw this.fail(err, `COPY into ${table}`);
    }
  }

  private fail(err: unknown, context: string): AppError {
    const app = toDbError(err, context);
    if (app.code === 'DB_CONNECTION') this.broken ??= app;
    return app;
  }
}

/** A Database on a PostgreSQL server (a pg Pool). */
export class PgDatabase implements DatabaseConnection {
  readonly kind = 'pg' as const;
  readonly description: string;
  private readonly pool: pg.Pool;
  /** The last error of an idle pooled connection (the pool discards that connection). */
  lastIdleError: AppError | undefined;

  constructor(url: string, options: PgDatabaseOptions = {}) {
    this.description = describePgUrl(url);
    this.pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 5,
      connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
      idleTimeoutMillis: options.idleTimeoutMs ?? 10_000,
      application_name: options.applicationName ?? 'aqe-cloud-sync',
      ...(options.statementTimeoutMs !== undefined ? { statement_timeout: options.statementTimeoutMs } : {}),
      ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
      types: TYPES,
    });
    // An idle client whose server connection dies emits 'error' on the pool; without a listener
    // the process would crash. The pool already drops that client: keep the error for diagnosis.
    this.pool.on('error', (err) => {
      this.lastIdleError = toDbError(err, `idle connection to ${this.description}`);
    });
  }

  private async withClient<T>(fn: (session: PgSession) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw toDbError(err, `connect to ${this.description}`);
    }
    let broken: Error | undefined;
    const onError = (err: Error) => {
      broken = err;
    };
    client.on('error', onError);
    const session = new PgSession(client);
    try {
      return await fn(session);
    } finally {
      session.done = true;
      client.off('error', onError);
      client.release(broken ?? session.broken);
    }
  }

  query<R = Record<string, unknown>>(sql: string, params?: readonly SqlParam[]): Promise<QueryResult<R>> {
    return this.withClient((s) => s.query<R>(sql, params));
  }

  exec(sql: string): Promise<void> {
    return this.withClient((s) => s.exec(sql));
  }

  copyRows(table: string, columns: readonly string[], rows: AsyncIterable<(string | null)[]> | Iterable<(string | null)[]>): Promise<number> {
    return this.withClient((s) => s.copyRows(table, columns, rows));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.withClient(async (s) => {
      await s.exec('BEGIN');
      let result: T;
      try {
        result = await fn(s);
      } catch (err) {
        try {
          await s.exec('ROLLBACK');
        } catch {
          // the connection is gone: the server rolls back on its own; the original error matters
        }
        throw err;
      }
      await s.exec('COMMIT');
      return result;
    });
  }

  async close(): Promise<void> {
    if (this.pool.ended) return;
    await this.pool.end();
  }
}
