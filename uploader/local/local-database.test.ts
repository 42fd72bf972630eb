import { describe, expect, it } from 'vitest';
import { AppError } from '../../schema/errors.js';
import { readEnvSettings } from '../config/env-settings.js';
import { damageReason, pgliteDataDir, rebuildHint } from './local-database.js';
import { pendingLoadOf } from './push-and-load.js';

describe('local database helpers', () => {
  it('tells damage from other failures, through the cause chain', () => {
    const page = new AppError('DB_UNKNOWN', 'query: internal server error (SQLSTATE XX001): invalid page in block 0 of relation "base/5/17039"');
    expect(damageReason(new AppError('SNAPSHOT_FAILED', 'load failed', { cause: page }))).toBe(page.message);
    expect(damageReason(new Error('Aborted(). Build with -sASSERTIONS for more info.'))).toMatch(/^Aborted\(\)/);
    expect(damageReason(new AppError('DB_SCHEMA', 'relation "aqe.nope" does not exist (SQLSTATE 42P01)'))).toBeNull();
    expect(damageReason(new AppError('DB_CONNECTION', 'connect ECONNREFUSED 127.0.0.1:5432'))).toBeNull();
  });

  it('reads AQE_LOCK_TIMEOUT in seconds, and names a bad value', () => {
    const lockTimeout = (v?: string) => readEnvSettings(v === undefined ? {} : { AQE_LOCK_TIMEOUT: v });
    expect(lockTimeout().value.lockTimeoutMs).toBe(120_000);
    expect(lockTimeout('0').value.lockTimeoutMs).toBe(0);
    expect(lockTimeout('2.5').value.lockTimeoutMs).toBe(2500);
    expect(lockTimeout('-1').problems[0]?.message).toContain('AQE_LOCK_TIMEOUT: "-1" is not a number of seconds');
  });

  it('names the rebuild command of a folder in workspace form when it is a workspace default', () => {
    expect(rebuildHint('/home/me/p/.aqe-sync/db')).toBe('aqe-upload rebuild --workspace /home/me/p');
    expect(rebuildHint('/var/aqe/db/')).toBe('aqe-upload rebuild --database pglite:///var/aqe/db');
    expect(pgliteDataDir('pglite://memory')).toBeNull();
    expect(pgliteDataDir('postgres://x@h/db')).toBeNull();
    expect(pgliteDataDir('pglite:///d')).toBe('/d');
  });

  it('a pending load points at reconcile (or rebuild for damage), never printing a password', () => {
    const config = { workspace: '/w', bucket: 'file:///w/.aqe-sync/bucket', database: { url: 'postgres://u:pw@h:5432/db', origin: 'flag' as const } };
    const pending = pendingLoadOf(new AppError('DB_CONNECTION', 'connect ECONNREFUSED (postgres://u:pw@h:5432/db)', { transient: true }), config);
    expect(pending.fix).toBe("aqe-upload reconcile --workspace /w --database '<your --database URL>'");
    expect(JSON.stringify(pending)).not.toContain(':pw@');
    const damaged = pendingLoadOf(new AppError('DB_DAMAGED', 'damaged'), { workspace: '/w', bucket: 'gs://b', database: { url: 'pglite:///w/.aqe-sync/db', origin: 'default' }, bucketOrigin: 'flag' });
    expect(damaged.fix).toBe('aqe-upload rebuild --workspace /w --bucket gs://b');
  });
});
