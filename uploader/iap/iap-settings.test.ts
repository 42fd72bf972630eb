import { describe, expect, it } from 'vitest';
import { readEnvSettings } from '../config/env-settings.js';
import { resolveIapSettings, tunnelArgs, tunnelDatabaseUrl } from './iap-settings.js';

/** The --iap defaults as the entry reads them from an environment. */
const env = (vars: Record<string, string>) => readEnvSettings(vars).value.iap;

describe('--iap settings', () => {
  it('are null without --iap', () => {
    expect(resolveIapSettings({ database: 'postgres://x' }, env({ AQE_IAP_PROJECT: 'p' }))).toBeNull();
  });

  it('take flags first, then AQE_* variables, then the stack defaults (user aqe, database aqe, secret aqe-db-password in the project)', () => {
    expect(resolveIapSettings({ iap: 'aqe-db' }, env({ AQE_IAP_ZONE: 'europe-west1-b', AQE_IAP_PROJECT: 'proj' }))).toEqual({
      instance: 'aqe-db',
      zone: 'europe-west1-b',
      project: 'proj',
      dbUser: 'aqe',
      dbName: 'aqe',
      password: { from: 'secret', secret: 'projects/proj/secrets/aqe-db-password' },
      timeoutMs: 30_000,
    });
    const s = resolveIapSettings(
      { iap: 'db-2', iapZone: 'us-east1-c', iapProject: 'flag-proj', dbUser: 'ops', dbName: 'aqe_ops', dbPasswordSecret: 'projects/x/secrets/pw', iapTimeout: '1m' },
      env({ AQE_IAP_ZONE: 'z', AQE_IAP_PROJECT: 'env-proj', AQE_DB_USER: 'u', AQE_DB_NAME: 'n', AQE_DB_PASSWORD_SECRET: 'projects/y/secrets/pw', AQE_IAP_TIMEOUT: '5s' }),
    );
    expect(s).toEqual({ instance: 'db-2', zone: 'us-east1-c', project: 'flag-proj', dbUser: 'ops', dbName: 'aqe_ops', password: { from: 'secret', secret: 'projects/x/secrets/pw' }, timeoutMs: 60_000 });
  });

  it('use PGPASSWORD when set and no secret is named, before the project default', () => {
    expect(resolveIapSettings({ iap: 'aqe-db', iapProject: 'p' }, env({ PGPASSWORD: 'pw' }))?.password).toEqual({ from: 'pg-env' });
    expect(resolveIapSettings({ iap: 'aqe-db', iapProject: 'p' }, env({ PGPASSWORD: 'pw', AQE_DB_PASSWORD_SECRET: 'projects/p/secrets/s' }))?.password).toEqual({ from: 'secret', secret: 'projects/p/secrets/s' });
  });

  it('name every way to give a password when there is none', () => {
    expect(() => resolveIapSettings({ iap: 'aqe-db' }, env({}))).toThrow(/no database password source: give --db-password-secret .*AQE_DB_PASSWORD_SECRET.*--iap-project.*PGPASSWORD/s);
  });

  it('take the variables\' values when no flag is given (timeout as a duration)', () => {
    expect(resolveIapSettings({ iap: 'aqe-db' }, env({ AQE_IAP_ZONE: 'z', AQE_IAP_PROJECT: 'p', AQE_DB_USER: 'u', AQE_DB_NAME: 'n', AQE_DB_PASSWORD_SECRET: 'projects/y/secrets/pw', AQE_IAP_TIMEOUT: '5s' }))).toEqual({
      instance: 'aqe-db',
      zone: 'z',
      project: 'p',
      dbUser: 'u',
      dbName: 'n',
      password: { from: 'secret', secret: 'projects/y/secrets/pw' },
      timeoutMs: 5000,
    });
  });

  it('build the gcloud arguments, leaving zone and project to gcloud\'s config when not given', () => {
    expect(tunnelArgs({ instance: 'aqe-db', zone: 'europe-west1-b', project: 'p' }, 41234)).toEqual(['compute', 'start-iap-tunnel', 'aqe-db', '5432', '--local-host-port=localhost:41234', '--zone', 'europe-west1-b', '--project', 'p']);
    expect(tunnelArgs({ instance: 'aqe-db', zone: undefined, project: undefined }, 1)).toEqual(['compute', 'start-iap-tunnel', 'aqe-db', '5432', '--local-host-port=localhost:1']);
  });

  it('build a database URL that survives any password', () => {
    const url = tunnelDatabaseUrl({ dbUser: 'aqe', dbName: 'aqe' }, 41234, 'p@ss:w/rd#?%');
    expect(url).toBe('postgres://aqe:p%40ss%3Aw%2Frd%23%3F%25@localhost:41234/aqe');
    expect(decodeURIComponent(new URL(url).password)).toBe('p@ss:w/rd#?%');
    expect(tunnelDatabaseUrl({ dbUser: 'aqe', dbName: 'aqe' }, 1, null)).toBe('postgres://aqe@localhost:1/aqe');
  });
});
