// What `--iap <instance>` needs, from the flags over the settings of AQE_* variables (read by
// config/env-settings.ts): the instance, zone and project
// for `gcloud compute start-iap-tunnel`, the database user and name, and where the password comes
// from. Pure: gcloud arguments and the database URL are built here, nothing is started.

import { AppError } from '../../schema/errors.js';
import { CLI_ENV, type EnvSettings } from '../config/env-settings.js';
import { parseDuration } from '../watch/duration.js';

/** The port the database VM listens on (infra: private-database-vm). */
export const REMOTE_DB_PORT = 5432;

/** The secret the stack creates for the database password, in `project`. */
export function defaultPasswordSecret(project: string): string {
  return `projects/${project}/secrets/aqe-db-password`;
}

/** Environment variables behind the --iap options' defaults (for help texts and messages). */
export const IAP_ENV = {
  zone: CLI_ENV.iapZone,
  project: CLI_ENV.iapProject,
  dbUser: CLI_ENV.dbUser,
  dbName: CLI_ENV.dbName,
  passwordSecret: CLI_ENV.dbPasswordSecret,
  timeout: CLI_ENV.iapTimeout,
} as const;

/** The --iap flags (commander's camelCase names), as given. */
export interface IapFlags {
  iap?: string | undefined;
  database?: string | undefined;
  iapZone?: string | undefined;
  iapProject?: string | undefined;
  dbUser?: string | undefined;
  dbName?: string | undefined;
  dbPasswordSecret?: string | undefined;
  iapTimeout?: string | undefined;
}

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
 * The settings of `--iap` (flags first, then the AQE_* settings, then defaults), or null without
 * `--iap`. Every problem is reported at once (the variables were checked with the configuration).
 * Password: --db-password-secret, else AQE_DB_PASSWORD_SECRET, else PGPASSWORD when set, else the
 * stack's secret in --iap-project.
 * @example resolveIapSettings({ iap: 'aqe-db', iapZone: 'europe-west1-b', iapProject: 'p' }, settings.iap) // password from projects/p/secrets/aqe-db-password
 */
export function resolveIapSettings(flags: IapFlags, env: EnvSettings['iap']): IapSettings | null {
  const instance = str(flags.iap);
  if (instance === undefined) return null;
  const problems: string[] = [];
  if (!/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/.test(instance)) problems.push(`--iap ${JSON.stringify(instance)}: expected a Compute Engine instance name (lower-case letters, digits and hyphens), e.g. aqe-db`);
  if (str(flags.database) !== undefined) problems.push('--iap and --database both given: --iap builds the database URL through the tunnel; give one of them');
  const zone = str(flags.iapZone) ?? env.zone;
  const project = str(flags.iapProject) ?? env.project;
  const dbUser = str(flags.dbUser) ?? env.dbUser ?? 'aqe';
  const dbName = str(flags.dbName) ?? env.dbName ?? 'aqe';
  const secretFlag = str(flags.dbPasswordSecret);
  let password: IapSettings['password'] | null = null;
  if (secretFlag !== undefined) {
    if (/^projects\/[^/\s]+\/secrets\/[^/\s]+$/.test(secretFlag)) password = { from: 'secret', secret: secretFlag };
    else problems.push(`--db-password-secret ${JSON.stringify(secretFlag)}: expected projects/<project>/secrets/<secret>, e.g. projects/my-project/secrets/aqe-db-password`);
  } else if (env.passwordSecret !== undefined) password = { from: 'secret', secret: env.passwordSecret };
  else if (env.pgPasswordSet) password = { from: 'pg-env' };
  else if (project !== undefined) password = { from: 'secret', secret: defaultPasswordSecret(project) };
  else problems.push(`--iap: no database password source: give --db-password-secret projects/<project>/secrets/<secret> (or ${IAP_ENV.passwordSecret}), --iap-project (or ${IAP_ENV.project}) to use projects/<project>/secrets/aqe-db-password, or set PGPASSWORD`);
  let timeoutMs = env.timeoutMs ?? 30_000;
  const timeout = str(flags.iapTimeout);
  if (timeout !== undefined) {
    try {
      timeoutMs = parseDuration(timeout, '--iap-timeout', { min: 100 });
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
