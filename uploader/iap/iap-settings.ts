// What `--iap <instance>` needs, from the flags and AQE_* variables: the instance, zone and project
// for `gcloud compute start-iap-tunnel`, the database user and name, and where the password comes
// from. Pure: gcloud arguments and the database URL are built here, nothing is started.

import { AppError } from '../../schema/errors.js';
import type { EnvMap } from '../config.js';
import { parseDuration } from '../watch/duration.js';

/** The port the database VM listens on (infra: private-database-vm). */
export const REMOTE_DB_PORT = 5432;

/** The secret the stack creates for the database password, in `project`. */
export function defaultPasswordSecret(project: string): string {
  return `projects/${project}/secrets/aqe-db-password`;
}

/** Environment variables behind the --iap options' defaults. */
export const IAP_ENV = {
  zone: 'AQE_IAP_ZONE',
  project: 'AQE_IAP_PROJECT',
  dbUser: 'AQE_DB_USER',
  dbName: 'AQE_DB_NAME',
  passwordSecret: 'AQE_DB_PASSWORD_SECRET',
  timeout: 'AQE_IAP_TIMEOUT',
} as const;

export interface IapSettings {
  instance: string;
  /** Omitted: gcloud's configured compute/zone. */
  zone: string | undefined;
  /** Omitted: gcloud's configured core/project. */
  project: string | undefined;
  dbUser: string;
  dbName: string;
  /** A Secret Manager secret (projects/P/secrets/S, latest version), or PGPASSWORD / ~/.pgpass as libpq reads them. */
  password: { from: 'secret'; secret: string } | { from: 'pg-env' };
  /** How long the tunnel may take to answer like PostgreSQL. */
  timeoutMs: number;
}

/**
 * The settings of `--iap` (flags first, then AQE_* variables, then defaults), or null without
 * `--iap`. Every problem is reported at once.
 * Password: --db-password-secret, else AQE_DB_PASSWORD_SECRET, else PGPASSWORD when set, else the
 * stack's secret in --iap-project.
 * @example resolveIapSettings({ iap: 'aqe-db', iapZone: 'europe-west1-b', iapProject: 'p' }, {}) // password from projects/p/secrets/aqe-db-password
 */
export function resolveIapSettings(opts: Record<string, unknown>, env: EnvMap): IapSettings | null {
  const instance = str(opts['iap']);
  if (instance === undefined) return null;
  const problems: string[] = [];
  if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(instance)) problems.push(`--iap ${JSON.stringify(instance)}: expected a Compute Engine instance name (lower-case letters, digits and hyphens), e.g. aqe-db`);
  if (str(opts['database']) !== undefined) problems.push('--iap and --database both given: --iap builds the database URL through the tunnel; give one of them');
  const zone = str(opts['iapZone']) ?? str(env[IAP_ENV.zone]);
  const project = str(opts['iapProject']) ?? str(env[IAP_ENV.project]);
  const dbUser = str(opts['dbUser']) ?? str(env[IAP_ENV.dbUser]) ?? 'aqe';
  const dbName = str(opts['dbName']) ?? str(env[IAP_ENV.dbName]) ?? 'aqe';
  const secretFlag = str(opts['dbPasswordSecret']);
  const secretGiven = secretFlag ?? str(env[IAP_ENV.passwordSecret]);
  let password: IapSettings['password'] | null = null;
  if (secretGiven !== undefined) {
    const name = secretFlag !== undefined ? '--db-password-secret' : IAP_ENV.passwordSecret;
    if (/^projects\/[^/\s]+\/secrets\/[^/\s]+$/.test(secretGiven)) password = { from: 'secret', secret: secretGiven };
    else problems.push(`${name} ${JSON.stringify(secretGiven)}: expected projects/<project>/secrets/<secret>, e.g. projects/my-project/secrets/aqe-db-password`);
  } else if (str(env['PGPASSWORD']) !== undefined) password = { from: 'pg-env' };
  else if (project !== undefined) password = { from: 'secret', secret: defaultPasswordSecret(project) };
  else problems.push(`--iap: no database password source: give --db-password-secret projects/<project>/secrets/<secret> (or ${IAP_ENV.passwordSecret}), --iap-project (or ${IAP_ENV.project}) to use projects/<project>/secrets/aqe-db-password, or set PGPASSWORD`);
  let timeoutMs = 30_000;
  const timeout = str(opts['iapTimeout']) ?? str(env[IAP_ENV.timeout]);
  if (timeout !== undefined) {
    try {
      timeoutMs = parseDuration(timeout, str(opts['iapTimeout']) !== undefined ? '--iap-timeout' : IAP_ENV.timeout, { min: 100 });
    } catch (err) {
      problems.push((err as Error).message.split('\n')[0] ?? String(err));
    }
  }
  if (problems.length > 0 || password === null) {
    throw new AppError('USAGE', `${problems.join('\n')}\nTry: aqe-upload status --iap aqe-db --iap-zone europe-west1-b --iap-project my-project`);
  }
  return { instance, zone, project, dbUser, dbName, password, timeoutMs };
}

/**
 * The arguments of `gcloud` for the tunnel to `localPort`.
 * @example tunnelArgs(settings, 54321) // ['compute', 'start-iap-tunnel', 'aqe-db', '5432', '--local-host-port=localhost:54321', '--zone', …]
 */
export function tunnelArgs(settings: Pick<IapSettings, 'instance' | 'zone' | 'project'>, localPort: number): string[] {
  return [
    'compute',
    'start-iap-tunnel',
    settings.instance,
    String(REMOTE_DB_PORT),
    `--local-host-port=localhost:${localPort}`,
    ...(settings.zone !== undefined ? ['--zone', settings.zone] : []),
    ...(settings.project !== undefined ? ['--project', settings.project] : []),
  ];
}

/**
 * The database URL through the tunnel (no password: PGPASSWORD / ~/.pgpass apply).
 * @example tunnelDatabaseUrl({ dbUser: 'aqe', dbName: 'aqe' }, 54321, 's3cret') // 'postgres://aqe:s3cret@localhost:54321/aqe'
 */
export function tunnelDatabaseUrl(settings: Pick<IapSettings, 'dbUser' | 'dbName'>, localPort: number, password: string | null): string {
  const auth = encodeURIComponent(settings.dbUser) + (password === null ? '' : `:${encodeURIComponent(password)}`);
  return `postgres://${auth}@localhost:${localPort}/${encodeURIComponent(settings.dbName)}`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}
