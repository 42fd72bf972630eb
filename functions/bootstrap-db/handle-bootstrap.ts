// bootstrapDatabase glue: the runtime's config and secrets → bootstrapDatabase as the admin role.
// Only the managed database deploys this target (the private VM bootstraps itself at boot).

import { AppError } from '../../schema/errors.js';
import type { FunctionRuntime } from '../runtime/function-context.js';
import { type BootstrapReport, bootstrapDatabase } from './bootstrap-db.js';

/** Runs the bootstrap with the admin role's latest password; the roles' latest passwords create a missing role or heal a refused one. */
export async function handleBootstrap(rt: FunctionRuntime): Promise<BootstrapReport> {
  const db = rt.config.database;
  const reader = rt.config.rotatedRoles.find((r) => r.user !== rt.config.adminRole?.user);
  if (db.kind !== 'secret' || !rt.config.adminRole || !reader) {
    throw new AppError('CONFIG_INVALID', 'bootstrapDatabase needs AQE_DB_HOST, AQE_DB_USER, AQE_DB_PASSWORD_SECRET, AQE_DB_READER_USER, AQE_DB_READER_PASSWORD_SECRET, AQE_DB_ADMIN_USER and AQE_DB_ADMIN_PASSWORD_SECRET');
  }
  const secrets = await rt.secrets();
  const admin = await secrets.accessLatest(rt.config.adminRole.passwordSecret);
  return bootstrapDatabase({
    target: { host: db.host, port: db.port, database: db.database, ...(db.ssl ? { ssl: db.ssl } : {}) },
    admin: { user: rt.config.adminRole.user, password: admin.value },
    sync: { user: db.user, secret: db.passwordSecret, password: async () => (await secrets.accessLatest(db.passwordSecret)).value },
    reader: { user: reader.user, secret: reader.passwordSecret, password: async () => (await secrets.accessLatest(reader.passwordSecret)).value },
    log: rt.log.child({ function: 'bootstrapDatabase' }),
  });
}
