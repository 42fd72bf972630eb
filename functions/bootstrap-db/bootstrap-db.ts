// The managed database's one privileged step (engine cloudsql-pgvector): as the API-created admin
// role (a member of cloudsqlsuperuser, not a superuser), make what the private VM's boot makes as
// its superuser: the `vector` extension, the functions' role owning schema aqe, the operators'
// read-only role, nothing for PUBLIC. Idempotent (the scheduler re-applies it daily, and after a
// point-in-time restore): a missing role is created with its secret's latest password (as a SCRAM
// verifier: the plaintext never reaches the server); an existing role keeps its password (the
// rotation function owns it) unless that password no longer logs in: after a restore from a backup
// or a point-in-time clone the roles come back with the passwords of that time, and the bootstrap
// sets each refused role to its secret's latest version, under the rotation's own advisory lock so
// it never races a rotation in flight. Each step is one statement, so a failure names the statement.

import pg from 'pg';
import { AppError, errorMessage } from '../../schema/errors.js';
import { type DbTls, pgTlsOptions } from '../config/config.js';
import { advisoryLockKey } from '../db/advisory-lock.js';
import { quoteIdent } from '../db/copy-encoding.js';
import { toDbError } from '../db/pg-error-kind.js';
import { isAppError } from '../../schema/errors.js';
import type { Logger } from '../observability/logger.js';
import { scramSha256Verifier } from '../secrets/scram-verifier.js';
import type { Redacted } from '../secrets/redacted.js';

/** A role or database name we create (lower case, no quoting surprises): as infra/config.ts. */
const ROLE_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** The schema the functions' role owns. */
export const AQE_SCHEMA = 'aqe';

export interface BootstrapTarget {
  host: string;
  port: number;
  database: string;
  ssl?: DbTls;
}

export interface BootstrapOptions {
  target: BootstrapTarget;
  admin: { user: string; password: Redacted<string> };
  /** The functions' role, its secret (the rotation's lock name) and its latest password. */
  sync: { user: string; secret: string; password: () => Promise<Redacted<string>> };
  /** The operators' read-only role. */
  reader: { user: string; secret: string; password: () => Promise<Redacted<string>> };
  log: Logger;
  connectTimeoutMs?: number;
}

export interface BootstrapReport {
  /** `installed` (present or created now) or `unavailable` (the server offers no `vector`: the loader falls back to dialect none). */
  vector: 'installed' | 'unavailable';
  createdRoles: string[];
  /** Existing roles whose password was refused and set to their secret's latest version (after a restore). */
  resetPasswords: string[];
  serverVersion: number;
  statements: number;
}

/** The statements after the roles exist (pure: the tests read them; the function runs them). */
export function grantStatements(db: string, sync: string, reader: string): string[] {
  const [d, s, r, a] = [quoteIdent(db), quoteIdent(sync), quoteIdent(reader), quoteIdent(AQE_SCHEMA)];
  return [
    // attributes a CREATEROLE admin may set (SUPERUSER, REPLICATION and BYPASSRLS are checked, not set)
    `ALTER ROLE ${s} WITH LOGIN NOCREATEDB NOCREATEROLE`,
    `ALTER ROLE ${r} WITH LOGIN NOCREATEDB NOCREATEROLE`,
    `ALTER ROLE ${r} SET default_transaction_read_only = on`,
    `REVOKE ALL ON DATABASE ${d} FROM PUBLIC`,
    // TEMPORARY: the loader stages rows in temporary tables. CREATE: migration 001 runs CREATE
    // SCHEMA IF NOT EXISTS aqe, and PostgreSQL checks that right before it sees the schema exists.
    `GRANT CONNECT, TEMPORARY, CREATE ON DATABASE ${d} TO ${s}`,
    `GRANT CONNECT ON DATABASE ${d} TO ${r}`,
    `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
    // PostgreSQL 16+: the admin may hand a schema to a role only if it may SET ROLE to it; the
    // membership is granted for the bootstrap's duration and revoked at its end
    `GRANT ${s} TO CURRENT_USER WITH INHERIT FALSE, SET TRUE`,
    `CREATE SCHEMA IF NOT EXISTS ${a} AUTHORIZATION ${s}`,
    `ALTER SCHEMA ${a} OWNER TO ${s}`,
    // the owner grants on its own schema (and for the tables it will create)
    `SET ROLE ${s}`,
    `GRANT USAGE ON SCHEMA ${a} TO ${r}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${a} TO ${r}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${a} GRANT SELECT ON TABLES TO ${r}`,
    `RESET ROLE`,
    `REVOKE ${s} FROM CURRENT_USER`,
  ];
}

function checkName(what: string, name: string): void {
  if (!ROLE_RE.test(name)) {
    throw new AppError('CONFIG_INVALID', `${what} "${name}" is not a plain PostgreSQL name (expected ${ROLE_RE.source}); fix the deployment config`);
  }
}

/**
 * Applies the bootstrap. Throws DB_* errors naming the statement; never logs or
 * returns a password.
 */
export async function bootstrapDatabase(options: BootstrapOptions): Promise<BootstrapReport> {
  const { target, admin, sync, reader, log } = options;
  checkName('database', target.database);
  for (const [what, name] of [['admin role', admin.user], ['functions role', sync.user], ['read-only role', reader.user]] as const) checkName(what, name);
  if (new Set([admin.user, sync.user, reader.user]).size !== 3) throw new AppError('CONFIG_INVALID', 'the admin, functions and read-only roles must be three different roles');

  const ssl = pgTlsOptions(target.ssl);
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    database: target.database,
    user: admin.user,
    password: admin.password.reveal(),
    application_name: 'aqe-db-bootstrap',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    statement_timeout: 60_000,
    ...(ssl ? { ssl } : {}),
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw toDbError(err, `connect to ${target.host}:${target.port}/${target.database} as ${admin.user}`);
  }
  let statements = 0;
  /** Does `user` log in with `password` (a fresh TLS session)? Only an authentication failure is "no". */
  const logsIn = async (user: string, password: Redacted<string>): Promise<boolean> => {
    const probe = new pg.Client({
      host: target.host,
      port: target.port,
      database: target.database,
      user,
      password: password.reveal(),
      application_name: 'aqe-db-bootstrap',
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      ...(ssl ? { ssl } : {}),
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return true;
    } catch (err) {
      const db = toDbError(err, `connect to ${target.host}:${target.port}/${target.database} as ${user}`);
      if (isAppError(db, 'DB_AUTH')) return false;
      throw db;
    } finally {
      await probe.end().catch(() => undefined);
    }
  };
  const run = async (sql: string, params: unknown[] = []) => {
    try {
      statements++;
      return await client.query(sql, params);
    } catch (err) {
      // the statement is named; a CREATE ROLE's verifier is never part of the message
      const shown = /PASSWORD '/.test(sql) ? sql.replace(/PASSWORD '[^']*'/, "PASSWORD '…'") : sql;
      const db = toDbError(err);
      throw new AppError(db.code, `database bootstrap: "${shown}" failed: ${errorMessage(db)}`, { cause: err, transient: db.transient, details: { statement: shown } });
    }
  };
  try {
    const version = Number((await run('SHOW server_version_num')).rows[0]?.server_version_num);
    if (!(version >= 160000)) throw new AppError('DB_SCHEMA', `database bootstrap needs PostgreSQL 16 or newer (role membership WITH SET); the server is ${version}`);
    const available = await run(`SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') AS ok`);
    let vector: BootstrapReport['vector'] = 'unavailable';
    if (available.rows[0]?.ok === true) {
      await run('CREATE EXTENSION IF NOT EXISTS vector');
      vector = 'installed';
    } else {
      log.warn('the server offers no "vector" extension: the loader uses dialect none (exact search, no vector index)', { event: 'bootstrap_no_vector' });
    }
    const createdRoles: string[] = [];
    const resetPasswords: string[] = [];
    for (const role of [sync, reader]) {
      const exists = await run('SELECT rolsuper, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = $1', [role.user]);
      if (exists.rowCount === 0) {
        const verifier = scramSha256Verifier(await role.password());
        await run(`CREATE ROLE ${quoteIdent(role.user)} LOGIN PASSWORD '${verifier}'`);
        createdRoles.push(role.user);
        continue;
      }
      const r = exists.rows[0] as { rolsuper: boolean; rolreplication: boolean; rolbypassrls: boolean };
      if (r.rolsuper || r.rolreplication || r.rolbypassrls) {
        throw new AppError('DB_SCHEMA', `role ${role.user} has SUPERUSER, REPLICATION or BYPASSRLS: the admin role cannot remove them; drop the role (it is re-created) or fix it as cloudsqladmin via support`);
      }
      // the rotation holds this lock from its ALTER ROLE until the new version is published
      await run('SET lock_timeout = 60000');
      await run('SELECT pg_advisory_lock($1::bigint)', [advisoryLockKey(`aqe:rotate:${role.secret}`)]);
      try {
        const password = await role.password();
        if (!(await logsIn(role.user, password))) {
          await run(`ALTER ROLE ${quoteIdent(role.user)} PASSWORD '${scramSha256Verifier(password)}'`);
          resetPasswords.push(role.user);
          log.warn('a role refused its secret\'s latest password (a restore?): set to it', { event: 'bootstrap_password_reset', role: role.user });
        }
      } finally {
        await run('SELECT pg_advisory_unlock($1::bigint)', [advisoryLockKey(`aqe:rotate:${role.secret}`)]);
        await run('RESET lock_timeout');
      }
    }
    for (const sql of grantStatements(target.database, sync.user, reader.user)) await run(sql);
    log.notice('database bootstrap applied', { event: 'bootstrap_applied', vector, createdRoles, resetPasswords, statements });
    return { vector, createdRoles, resetPasswords, serverVersion: version, statements };
  } finally {
    await client.end().catch(() => undefined);
  }
}
