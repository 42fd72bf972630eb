// The functions' configuration: parsed once from the environment with a schema, every bad
// variable reported at once by name, frozen, passed down. Nothing else reads process.env.

import { z } from 'zod';
import { AppError } from '../../schema/errors.js';
import { CONFIG_ENV } from '../entry-points.js';

const secretName = z
  .string()
  .regex(/^projects\/[^/]+\/secrets\/[^/]+$/, 'expected a Secret Manager resource name: projects/PROJECT/secrets/SECRET');

const schema = z
  .object({
    [CONFIG_ENV.dbHost]: z.string().min(1).optional(),
    [CONFIG_ENV.dbPort]: z.coerce.number().int().min(1).max(65535).default(5432),
    [CONFIG_ENV.dbName]: z.string().min(1).default('aqe'),
    [CONFIG_ENV.dbUser]: z.string().min(1).default('aqe_sync'),
    [CONFIG_ENV.dbPasswordSecret]: secretName.optional(),
    [CONFIG_ENV.databaseUrl]: z.string().regex(/^(postgres(ql)?|pglite):\/\//, 'expected postgres://… or pglite://…').optional(),
    [CONFIG_ENV.bucket]: z.string().min(3).optional(),
    [CONFIG_ENV.bucketPrefix]: z.string().default(''),
    [CONFIG_ENV.gcsApiEndpoint]: z.url().optional(),
    [CONFIG_ENV.secretManagerEndpoint]: z.string().regex(/^[\w.-]+:\d{1,5}$/, 'expected host:port of a plaintext Secret Manager gRPC endpoint').optional(),
    [CONFIG_ENV.dbReaderUser]: z.string().min(1).optional(),
    [CONFIG_ENV.dbReaderPasswordSecret]: secretName.optional(),
    [CONFIG_ENV.dbSslCa]: z.string().regex(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, 'expected PEM certificate(s)').optional(),
    [CONFIG_ENV.dbAdminUser]: z.string().min(1).optional(),
    [CONFIG_ENV.dbAdminPasswordSecret]: secretName.optional(),
    [CONFIG_ENV.modelDir]: z.string().min(1).optional(),
    [CONFIG_ENV.embedBudgetSeconds]: z.coerce.number().min(0).max(3600).default(60),
    [CONFIG_ENV.retentionDays]: z.coerce.number().int().min(1).max(3650).default(90),
    [CONFIG_ENV.rotationGraceHours]: z.coerce.number().min(0).max(24 * 30).default(24),
    [CONFIG_ENV.rotationMinIntervalMinutes]: z.coerce.number().min(0).max(24 * 60).default(30),
    [CONFIG_ENV.retentionSafetyHours]: z.coerce.number().min(1).max(24 * 30).default(24),
    [CONFIG_ENV.reconcileBudgetSeconds]: z.coerce.number().min(10).max(3600).default(1500),
    [CONFIG_ENV.logLevel]: z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR']).default('INFO'),
  })
  .superRefine((c, ctx) => {
    if (Boolean(c[CONFIG_ENV.dbReaderUser]) !== Boolean(c[CONFIG_ENV.dbReaderPasswordSecret])) {
      ctx.addIssue({ code: 'custom', path: [CONFIG_ENV.dbReaderUser], message: `set both ${CONFIG_ENV.dbReaderUser} and ${CONFIG_ENV.dbReaderPasswordSecret}, or neither` });
    }
    if (Boolean(c[CONFIG_ENV.dbAdminUser]) !== Boolean(c[CONFIG_ENV.dbAdminPasswordSecret])) {
      ctx.addIssue({ code: 'custom', path: [CONFIG_ENV.dbAdminUser], message: `set both ${CONFIG_ENV.dbAdminUser} and ${CONFIG_ENV.dbAdminPasswordSecret}, or neither` });
    }
    if (!c[CONFIG_ENV.databaseUrl] && !(c[CONFIG_ENV.dbHost] && c[CONFIG_ENV.dbPasswordSecret])) {
      ctx.addIssue({
        code: 'custom',
        path: [CONFIG_ENV.dbHost],
        message: `set ${CONFIG_ENV.dbHost} and ${CONFIG_ENV.dbPasswordSecret} (deployed), or ${CONFIG_ENV.databaseUrl} (local)`,
      });
    }
  });

/** TLS to the database: verify the server's chain against `ca` (AQE_DB_SSL_CA). */
export interface DbTls {
  ca: string;
}

/**
 * node-postgres `ssl` options for `tls`: TLS required, the chain verified against the CA, the host
 * name not (Cloud SQL's server certificate names the instance; we connect to its private IP):
 * libpq's sslmode=verify-ca.
 */
export function pgTlsOptions(tls: DbTls | undefined): { ca: string; rejectUnauthorized: true; checkServerIdentity: () => undefined } | undefined {
  return tls ? { ca: tls.ca, rejectUnauthorized: true, checkServerIdentity: () => undefined } : undefined;
}

export interface FunctionsConfig {
  database:
    | { kind: 'url'; url: string }
    | { kind: 'secret'; host: string; port: number; database: string; user: string; passwordSecret: string; ssl?: DbTls };
  /** Further roles whose passwords rotateSecret rotates (the read-only role, the managed database's admin), each with its secret. */
  rotatedRoles: ReadonlyArray<{ user: string; passwordSecret: string }>;
  /** The managed database's admin role (bootstrapDatabase logs in as it), or null. */
  adminRole: { user: string; passwordSecret: string } | null;
  /** Secret Manager endpoint override (host:port, plaintext): the rehearsal's stand-in. */
  secretManagerEndpoint: string | undefined;
  bucket: { name: string; prefix: string; apiEndpoint?: string } | null;
  modelDir: string | undefined;
  embedBudgetMs: number;
  retentionDays: number;
  rotationGraceHours: number;
  rotationMinIntervalMinutes: number;
  retentionSafetyHours: number;
  reconcileBudgetMs: number;
  logLevel: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';
}

/** Parses the functions' configuration from `env` (pure given env). Throws CONFIG_INVALID listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Readonly<FunctionsConfig> {
  const picked: Record<string, string | undefined> = {};
  for (const name of Object.values(CONFIG_ENV)) if (env[name] !== undefined && env[name] !== '') picked[name] = env[name];
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${String(i.path[0] ?? '(config)')}: ${i.message}`);
    throw new AppError('CONFIG_INVALID', `invalid function configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  const url = c[CONFIG_ENV.databaseUrl];
  const config: FunctionsConfig = {
    database: url
      ? { kind: 'url', url }
      : {
          kind: 'secret',
          host: c[CONFIG_ENV.dbHost]!,
          port: c[CONFIG_ENV.dbPort],
          database: c[CONFIG_ENV.dbName],
          user: c[CONFIG_ENV.dbUser],
          passwordSecret: c[CONFIG_ENV.dbPasswordSecret]!,
          ...(c[CONFIG_ENV.dbSslCa] ? { ssl: { ca: c[CONFIG_ENV.dbSslCa]! } } : {}),
        },
    rotatedRoles: [
      ...(c[CONFIG_ENV.dbReaderUser] ? [{ user: c[CONFIG_ENV.dbReaderUser]!, passwordSecret: c[CONFIG_ENV.dbReaderPasswordSecret]! }] : []),
      ...(c[CONFIG_ENV.dbAdminUser] ? [{ user: c[CONFIG_ENV.dbAdminUser]!, passwordSecret: c[CONFIG_ENV.dbAdminPasswordSecret]! }] : []),
    ],
    adminRole: c[CONFIG_ENV.dbAdminUser] ? { user: c[CONFIG_ENV.dbAdminUser]!, passwordSecret: c[CONFIG_ENV.dbAdminPasswordSecret]! } : null,
    secretManagerEndpoint: c[CONFIG_ENV.secretManagerEndpoint],
    bucket: c[CONFIG_ENV.bucket]
      ? { name: c[CONFIG_ENV.bucket]!, prefix: c[CONFIG_ENV.bucketPrefix], ...(c[CONFIG_ENV.gcsApiEndpoint] ? { apiEndpoint: c[CONFIG_ENV.gcsApiEndpoint] } : {}) }
      : null,
    modelDir: c[CONFIG_ENV.modelDir],
    embedBudgetMs: c[CONFIG_ENV.embedBudgetSeconds] * 1000,
    retentionDays: c[CONFIG_ENV.retentionDays],
    rotationGraceHours: c[CONFIG_ENV.rotationGraceHours],
    rotationMinIntervalMinutes: c[CONFIG_ENV.rotationMinIntervalMinutes],
    retentionSafetyHours: c[CONFIG_ENV.retentionSafetyHours],
    reconcileBudgetMs: c[CONFIG_ENV.reconcileBudgetSeconds] * 1000,
    logLevel: c[CONFIG_ENV.logLevel],
  };
  return Object.freeze(config);
}
