// The functions' configuration for the managed database: TLS to the server (AQE_DB_SSL_CA), and
// the admin role, which is rotated like the others and read by the bootstrap.
import { describe, expect, it } from 'vitest';
import { CONFIG_ENV } from '../entry-points.js';
import { loadConfig, pgTlsOptions } from './config.js';

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const base = {
  [CONFIG_ENV.dbHost]: '10.20.0.3',
  [CONFIG_ENV.dbPasswordSecret]: 'projects/p/secrets/aqe-db-password',
  [CONFIG_ENV.dbReaderUser]: 'aqe_reader',
  [CONFIG_ENV.dbReaderPasswordSecret]: 'projects/p/secrets/aqe-db-reader-password',
};

describe('functions config: managed database', () => {
  it('connects without TLS unless a CA is configured, and then verifies the chain but not the host name', () => {
    const plain = loadConfig(base);
    expect(plain.database).not.toHaveProperty('ssl');
    expect(plain.adminRole).toBeNull();
    const c = loadConfig({ ...base, [CONFIG_ENV.dbSslCa]: CA });
    expect(c.database).toMatchObject({ kind: 'secret', ssl: { ca: CA } });
    const tls = pgTlsOptions(c.database.kind === 'secret' ? c.database.ssl : undefined)!;
    expect(tls).toMatchObject({ ca: CA, rejectUnauthorized: true });
    expect(tls.checkServerIdentity()).toBeUndefined();
    expect(pgTlsOptions(undefined)).toBeUndefined();
  });

  it('rotates the admin role with the others and hands it to the bootstrap', () => {
    const c = loadConfig({ ...base, [CONFIG_ENV.dbAdminUser]: 'aqe_admin', [CONFIG_ENV.dbAdminPasswordSecret]: 'projects/p/secrets/aqe-db-admin-password' });
    expect(c.rotatedRoles.map((r) => r.user)).toEqual(['aqe_reader', 'aqe_admin']);
    expect(c.adminRole).toEqual({ user: 'aqe_admin', passwordSecret: 'projects/p/secrets/aqe-db-admin-password' });
  });

  it('names every half-configured or malformed variable', () => {
    expect(() => loadConfig({ ...base, [CONFIG_ENV.dbAdminUser]: 'aqe_admin', [CONFIG_ENV.dbSslCa]: 'not a pem' })).toThrow(
      new RegExp(`${CONFIG_ENV.dbSslCa}: expected PEM[\\s\\S]*${CONFIG_ENV.dbAdminUser}: set both ${CONFIG_ENV.dbAdminUser} and ${CONFIG_ENV.dbAdminPasswordSecret}`),
    );
  });
});
