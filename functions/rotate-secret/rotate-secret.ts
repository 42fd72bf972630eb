// Password rotation without downtime: a new random password for the database role, set as a
// SCRAM verifier, proven by a fresh login, then published as the secret's new version; superseded
// versions stay enabled for a grace period. Ordered so the secret's latest enabled version always
// logs in (see README "Secret rotation"); every failure in between restores the old password.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { AppError, errorMessage, isAppError } from '../../schema/errors.js';
import { type DbTls, pgTlsOptions } from '../config/config.js';
import { advisoryLockKey } from '../db/advisory-lock.js';
import { quoteIdent } from '../db/copy-encoding.js';
import { toDbError } from '../db/pg-error-kind.js';
import type { Logger } from '../observability/logger.js';
import { Redacted } from '../secrets/redacted.js';
import type { SecretSource, SecretVersionInfo } from '../secrets/secret-source.js';
import { scramSha256Verifier } from '../secrets/scram-verifier.js';

/** Where the rotated role logs in. The password is the secret's latest enabled version. */
export interface RotationTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** projects/P/secrets/S */
  secret: string;
  /** TLS to the server (the managed database requires it). */
  ssl?: DbTls;
}

/** The steps, in order; `beforeStep` (tests) may throw at any of them. */
export type RotationStep = 'connect' | 'lock' | 'alter_role' | 'verify_login' | 'add_version' | 'confirm_latest' | 'disable_expired';

export interface RotateOptions {
  secrets: SecretSource;
  target: RotationTarget;
  /** How long a superseded version stays enabled (ms). */
  graceMs: number;
  /** A rotation within this long of the latest version's creation is a redelivery: skipped (ms). */
  minIntervalMs: number;
  log: Logger;
  /** Notification id, for logs. */
  messageId?: string;
  now?: () => Date;
  generatePassword?: () => Redacted<string>;
  /** Failure injection for tests: called before each step. */
  beforeStep?: (step: RotationStep) => void | Promise<void>;
  connectTimeoutMs?: number;
}

export type RotationResult =
  | { status: 'rotated'; newVersion: string; previousVersion: string; healedFrom: string | null; disabled: string[]; disableErrors: string[] }
  | { status: 'skipped'; reason: string; latestVersion: string; disabled: string[]; disableErrors: string[] };

export interface ExpiryResult {
  disabled: string[];
  disableErrors: string[];
}

/** A strong random password: 32 random bytes, base64url (43 characters, URL- and SQL-safe). */
export function generatePassword(): Redacted<string> {
  return new Redacted(randomBytes(32).toString('base64url'));
}

/**
 * Enabled versions whose successor was created at least `graceMs` ago (pure). The latest enabled
 * version is never returned: it is the one in use.
 */
export function expiredVersions(versions: readonly SecretVersionInfo[], now: Date, graceMs: number): SecretVersionInfo[] {
  const ordered = [...versions].sort((a, b) => a.createTime.getTime() - b.createTime.getTime() || versionNumber(a.name) - versionNumber(b.name));
  const latestEnabled = ordered.filter((v) => v.state === 'ENABLED').at(-1);
  const out: SecretVersionInfo[] = [];
  for (const [i, v] of ordered.entries()) {
    const successor = ordered[i + 1];
    if (v.state !== 'ENABLED' || v === latestEnabled || !successor) continue;
    if (now.getTime() - successor.createTime.getTime() >= graceMs) out.push(v);
  }
  return out;
}

function versionNumber(name: string): number {
  const n = Number(name.split('/').at(-1));
  return Number.isFinite(n) ? n : 0;
}

/** Disables the versions `expiredVersions` names. Failures are returned, not thrown: the password in use is unaffected. */
export async function disableExpiredVersions(secrets: SecretSource, secret: string, now: Date, graceMs: number, log: Logger): Promise<ExpiryResult> {
  const result: ExpiryResult = { disabled: [], disableErrors: [] };
  for (const v of expiredVersions(await secrets.listVersions(secret), now, graceMs)) {
    try {
      await secrets.disableVersion(v.name);
      result.disabled.push(v.name);
      log.info('superseded secret version disabled after the grace period', { event: 'secret_version_disabled', version: v.name });
    } catch (err) {
      result.disableErrors.push(`${v.name}: ${errorMessage(err)}`);
    }
  }
  return result;
}

/**
 * Rotates the role's password (see the module comment for the order of steps).
 *
 * @example
 * const r = await rotateSecret({ secrets, target, graceMs: 24 * 3600e3, minIntervalMs: 30 * 60e3, log });
 * if (r.status === 'skipped') console.log(r.reason);
 */
export async function rotateSecret(options: RotateOptions): Promise<RotationResult> {
  const { secrets, target, log } = options;
  const now = options.now ?? (() => new Date());
  const step = async (s: RotationStep) => {
    await options.beforeStep?.(s);
  };
  const fail = (what: string, err: unknown, transient: boolean): AppError =>
    new AppError('ROTATION_FAILED', `rotating ${target.secret} for role ${target.user}: ${what}: ${errorMessage(err)}`, {
      transient,
      cause: err,
      details: { secret: target.secret, role: target.user, step: what },
    });

  // 1. a session with a password that works (the latest version; else a still-enabled older one)
  await step('connect');
  const current = await secrets.accessLatest(target.secret);
  const { client: session, password: oldPassword, version: oldVersion, healedFrom } = await connectWithWorkingVersion(options, current);
  try {
    // 2. one rotation at a time; a redelivery finds the version its twin just added
    await step('lock');
    await session.query('SET lock_timeout = 60000');
    await session.query('SELECT pg_advisory_lock($1::bigint)', [advisoryLockKey(`aqe:rotate:${target.secret}`)]);
    const latest = await secrets.accessLatest(target.secret);
    if (latest.version !== current.version) {
      return { status: 'skipped', reason: `another rotation added ${latest.version} meanwhile`, latestVersion: latest.version, ...(await expire(options, now())) };
    }
    const latestInfo = (await secrets.listVersions(target.secret)).find((v) => v.name === latest.version);
    const age = latestInfo ? now().getTime() - latestInfo.createTime.getTime() : Number.POSITIVE_INFINITY;
    if (healedFrom === null && age < options.minIntervalMs) {
      return {
        status: 'skipped',
        reason: `${latest.version} was created ${Math.round(age / 1000)} s ago (less than the minimum interval of ${Math.round(options.minIntervalMs / 1000)} s): a redelivered notification`,
        latestVersion: latest.version,
        ...(await expire(options, now())),
      };
    }

    // 3. the role gets the new password (a verifier: the plaintext never reaches the server)
    const newPassword = (options.generatePassword ?? generatePassword)();
    await step('alter_role');
    try {
      await alterPassword(session, target.user, newPassword);
    } catch (err) {
      throw fail('ALTER ROLE', toDbError(err), true);
    }
    log.info('database role password changed; verifying a fresh login', { event: 'rotation_role_altered', role: target.user, messageId: options.messageId });

    // 4. proven by a fresh login, 5. published: from here on the latest version works again
    let newVersion: string;
    try {
      await step('verify_login');
      await verifyLogin(options, newPassword);
      await step('add_version');
      newVersion = await addVersionChecked(secrets, target.secret, newPassword);
    } catch (err) {
      if (await rollBack(options, session, newPassword, oldPassword, err)) {
        throw isAppError(err, 'ROTATION_FAILED') ? err : fail('verify the new password and add it as a secret version', err, true);
      }
      // the role keeps the new password: the secret must get it, or nothing logs in
      try {
        newVersion = await addVersionChecked(secrets, target.secret, newPassword);
        log.warn('the old password could not be restored; the new one was published instead', { event: 'rotation_forward_recovered', newVersion });
      } catch (inner) {
        log.critical('rotation failed, the old password could not be restored and the new one could not be published: the database refuses the latest secret version', {
          event: 'rotation_lockout',
          role: target.user,
          error: errorMessage(inner),
        });
        throw fail('recover after a failed step (restore and publish both failed)', inner, true);
      }
    }
    // 6. nothing else may have become latest (a version added by hand would now be refused)
    await step('confirm_latest');
    const confirmed = await secrets.accessLatest(target.secret);
    if (confirmed.version !== newVersion) {
      log.critical('a secret version other than the one just added is latest: the database refuses it', {
        event: 'rotation_conflict',
        expected: newVersion,
        latest: confirmed.version,
      });
    }
    log.notice('database password rotated', { event: 'secret_rotated', role: target.user, newVersion, previousVersion: oldVersion, healedFrom, messageId: options.messageId });

    // 7. versions superseded longer than the grace period are disabled (never the new one)
    await step('disable_expired');
    const expiry = await expire(options, now());
    return { status: 'rotated', newVersion, previousVersion: oldVersion, healedFrom, ...expiry };
  } finally {
    await session.end().catch(() => undefined);
  }
}

async function expire(options: RotateOptions, now: Date): Promise<ExpiryResult> {
  return disableExpiredVersions(options.secrets, options.target.secret, now, options.graceMs, options.log);
}

function clientFor(options: RotateOptions, password: Redacted<string>): pg.Client {
  const { host, port, database, user } = options.target;
  const ssl = pgTlsOptions(options.target.ssl);
  return new pg.Client({
    ...(ssl ? { ssl } : {}),
    host,
    port,
    database,
    user,
    password: password.reveal(),
    application_name: 'aqe-rotate-secret',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    statement_timeout: 60_000,
  });
}

async function connect(options: RotateOptions, password: Redacted<string>): Promise<pg.Client> {
  const client = clientFor(options, password);
  client.on('error', () => undefined); // a dropped session surfaces on the next query
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => undefined);
    throw toDbError(err, `connect to ${options.target.host}:${options.target.port}/${options.target.database} as ${options.target.user}`);
  }
}

/**
 * Connects with the latest version; when the database refuses it (a rotation interrupted where no
 * step could repair it), with the newest still-enabled older version that works, so the rotation
 * that follows makes the latest version work again.
 */
async function connectWithWorkingVersion(
  options: RotateOptions,
  latest: { value: Redacted<string>; version: string },
): Promise<{ client: pg.Client; password: Redacted<string>; version: string; healedFrom: string | null }> {
  try {
    return { client: await connect(options, latest.value), password: latest.value, version: latest.version, healedFrom: null };
  } catch (err) {
    if (!isAppError(err, 'DB_AUTH')) throw err;
    options.log.error('the latest secret version does not log in: trying the still-enabled older versions', {
      event: 'rotation_latest_refused',
      version: latest.version,
    });
    const older = (await options.secrets.listVersions(options.target.secret))
      .filter((v) => v.state === 'ENABLED' && v.name !== latest.version)
      .sort((a, b) => b.createTime.getTime() - a.createTime.getTime());
    for (const v of older) {
      const value = await options.secrets.accessVersion(v.name);
      try {
        return { client: await connect(options, value), password: value, version: v.name, healedFrom: v.name };
      } catch (inner) {
        if (!isAppError(inner, 'DB_AUTH')) throw inner;
      }
    }
    throw new AppError(
      'ROTATION_FAILED',
      `rotating ${options.target.secret}: no enabled version of the secret logs in as ${options.target.user} (tried ${older.length + 1}); an administrator must set the role's password to the latest version's value`,
      { transient: true, cause: err, details: { secret: options.target.secret, role: options.target.user } },
    );
  }
}

async function alterPassword(client: pg.Client, role: string, password: Redacted<string>): Promise<void> {
  const verifier = scramSha256Verifier(password);
  if (!/^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(verifier)) throw new AppError('INTERNAL', 'SCRAM verifier has an unexpected shape');
  // the read-only role's sessions default to read-only transactions, which refuse ALTER ROLE
  await client.query('SET default_transaction_read_only = off');
  // utility statements take no bind parameters: the verifier is checked above, the role quoted
  await client.query(`ALTER ROLE ${quoteIdent(role)} PASSWORD '${verifier}'`);
}

async function verifyLogin(options: RotateOptions, password: Redacted<string>): Promise<void> {
  const client = await connect(options, password);
  try {
    const res = await client.query<{ u: string }>('SELECT current_user AS u');
    if (res.rows[0]?.u !== options.target.user) throw new AppError('ROTATION_FAILED', `fresh login returned user ${res.rows[0]?.u ?? '(none)'}, expected ${options.target.user}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Adds the version. When the call fails, it may still have been applied (a lost response): the
 * latest value decides. Returns the new version's name; throws when the secret does not hold it.
 */
async function addVersionChecked(secrets: SecretSource, secret: string, password: Redacted<string>): Promise<string> {
  try {
    return await secrets.addVersion(secret, password);
  } catch (err) {
    const latest = await secrets.accessLatest(secret).catch(() => null);
    if (latest && latest.value.reveal() === password.reveal()) return latest.version;
    throw err;
  }
}

/**
 * Puts the old password back (on the rotation's session, else on a fresh login with the new one).
 * false when neither worked: the role still has the new password.
 */
async function rollBack(options: RotateOptions, session: pg.Client, newPassword: Redacted<string>, oldPassword: Redacted<string>, cause: unknown): Promise<boolean> {
  const log = options.log;
  try {
    await alterPassword(session, options.target.user, oldPassword);
  } catch {
    try {
      const fresh = await connect(options, newPassword);
      try {
        await alterPassword(fresh, options.target.user, oldPassword);
      } finally {
        await fresh.end().catch(() => undefined);
      }
    } catch (err) {
      log.error('rotation failed after ALTER ROLE and the old password could not be restored', {
        event: 'rotation_rollback_failed',
        role: options.target.user,
        error: errorMessage(err),
        cause: errorMessage(cause),
      });
      return false;
    }
  }
  log.error('rotation failed after ALTER ROLE: the old password was restored', { event: 'rotation_rolled_back', role: options.target.user, error: errorMessage(cause) });
  return true;
}
