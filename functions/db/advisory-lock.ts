// Advisory-lock keys and helpers: a stable 64-bit key per name (sha256-derived, the same on every
// machine and Node version), taken as transaction-scoped locks so nothing can leak a lock.
import { createHash } from 'node:crypto';
import type { Queryable } from './database.js';

/** A stable signed 64-bit advisory-lock key for `name`, as a decimal string (bind as `$1::bigint`). */
export function advisoryLockKey(name: string): string {
  const digest = createHash('sha256').update(name, 'utf8').digest();
  return digest.readBigInt64BE(0).toString();
}

/** Blocks until this transaction holds the lock for `name`; released at COMMIT/ROLLBACK. */
export async function advisoryXactLock(tx: Queryable, name: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryLockKey(name)]);
}

/** Takes the lock for `name` if free; false when another transaction holds it. */
export async function tryAdvisoryXactLock(tx: Queryable, name: string): Promise<boolean> {
  const res = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [advisoryLockKey(name)]);
  return res.rows[0]?.ok === true;
}

/** Lock names used across the project (one place, so two features never share a key by accident). */
export const LOCK_NAMES = {
  migrate: 'aqe:migrate',
  environment: (env: string) => `aqe:${env}`,
} as const;
