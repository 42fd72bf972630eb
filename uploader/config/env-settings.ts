// Every AQE_* variable the CLI reads, parsed once at the entry (run-cli.ts) with one zod schema:
// each value checked, every bad one reported at once by name (with a runnable example), before any
// I/O. Pure given the env map; nothing below the entry reads the environment.

import { z } from 'zod';
import { AppError } from '../../schema/errors.js';
import type { LoadLimits } from '../../functions/loader/policy/load-limits.js';
import { parseDatabaseUrl } from '../../functions/db/open-database.js';

/** The environment variables of the CLI, by setting. */
export const CLI_ENV = {
  workspace: 'AQE_WORKSPACE',
  env: 'AQE_ENV',
  bucket: 'AQE_BUCKET',
  databaseUrl: 'AQE_DATABASE_URL',
  debug: 'AQE_DEBUG',
  storageRetries: 'AQE_STORAGE_RETRIES',
  pullKeepBackups: 'AQE_PULL_KEEP_BACKUPS',
  loadMaxSourceBytes: 'AQE_LOAD_MAX_SOURCE_BYTES',
  loadMaxSnapshotBytes: 'AQE_LOAD_MAX_SNAPSHOT_BYTES',
  loadMaxSources: 'AQE_LOAD_MAX_SOURCES',
  host: 'AQE_HOST',
  lockTimeout: 'AQE_LOCK_TIMEOUT',
  modelDir: 'AQE_MODEL_DIR',
  embedBudgetSeconds: 'AQE_EMBED_BUDGET_SECONDS',
  syncInterval: 'AQE_SYNC_INTERVAL',
  retentionDays: 'AQE_RETENTION_DAYS',
  iapZone: 'AQE_IAP_ZONE',
  iapProject: 'AQE_IAP_PROJECT',
  dbUser: 'AQE_DB_USER',
  dbName: 'AQE_DB_NAME',
  dbPasswordSecret: 'AQE_DB_PASSWORD_SECRET',
  iapTimeout: 'AQE_IAP_TIMEOUT',
} as const;

/** Not ours, but libpq's: with --iap, a set PGPASSWORD is the password source of last resort. */
export const PGPASSWORD = 'PGPASSWORD';

export type EnvMap = Readonly<Record<string, string | undefined>>;

/** Backups `pull` keeps by default (the newest; older ones are removed after each pull). */
export const DEFAULT_PULL_KEEP_BACKUPS = 5;
/** Most retries per Cloud Storage request AQE_STORAGE_RETRIES accepts (the default is 6). */
export const MAX_STORAGE_RETRIES = 20;
/** Seconds a command waits for the embedded database by default (AQE_LOCK_TIMEOUT). */
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 120;
/** Seconds of embedding after a local load by default (AQE_EMBED_BUDGET_SECONDS). */
export const DEFAULT_EMBED_BUDGET_SECONDS = 60;
/** Days reconcile keeps manifests by default (AQE_RETENTION_DAYS). */
export const DEFAULT_RETENTION_DAYS = 90;

/**
 * What a load in this process may expand (the CLI's local loads: the scratch folder is on disk,
 * not in memory as in the Cloud Function, so the defaults are larger than DEFAULT_LOAD_LIMITS).
 */
export const LOCAL_LOAD_LIMITS: Readonly<LoadLimits> = Object.freeze({ maxSourceBytes: 16 * 1024 ** 3, maxSnapshotBytes: 32 * 1024 ** 3, maxSources: 10_000 });

/** The CLI's settings from the environment (undefined: not set). */
export interface EnvSettings {
  workspace: string | undefined;
  env: string | undefined;
  bucket: string | undefined;
  /** Checked with parseDatabaseUrl. */
  databaseUrl: string | undefined;
  /** AQE_DEBUG=1: error stacks on stderr. */
  debug: boolean;
  /** Retries per Cloud Storage request (undefined: the store's default budget). */
  storageRetries: number | undefined;
  pullKeepBackups: number;
  loadLimits: Readonly<LoadLimits>;
  /** The machine label manifests record; none unless configured. */
  host: string | undefined;
  /** How long a command waits for the embedded database (0: do not wait). */
  lockTimeoutMs: number;
  /** A folder of Xenova/all-MiniLM-L6-v2 (else the library's download). */
  modelDir: string | undefined;
  /** Embedding time after the load of a push (0: none). */
  embedBudgetSeconds: number;
  /** watch: push every this many ms instead of on change. */
  syncIntervalMs: number | undefined;
  retentionDays: number;
  /** The defaults of the --iap options. */
  iap: {
    zone: string | undefined;
    project: string | undefined;
    dbUser: string | undefined;
    dbName: string | undefined;
    passwordSecret: string | undefined;
    timeoutMs: number | undefined;
    /** PGPASSWORD is set (its value stays with libpq). */
    pgPasswordSet: boolean;
  };
}

/** One bad variable: the line for the message, and a value that would do (for the Try line). */
export interface EnvProblem {
  variable: string;
  message: string;
  example: string;
}

/** `bare`: the message is `NAME: expected` (the reason already quotes the value). */
type Parsed<T> = { ok: true; value: T } | { ok: false; expected: string; example: string; bare?: boolean };
const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (expected: string, example: string): Parsed<never> => ({ ok: false, expected, example });

/** A variable: unset or blank is undefined; otherwise `parse` decides (the problem names the variable and its value). */
function variable<T>(name: string, parse: (text: string) => Parsed<T>) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T | undefined => {
      const text = raw?.trim();
      if (text === undefined || text === '') return undefined;
      const r = parse(text);
      if (r.ok) return r.value;
      ctx.addIssue({ code: 'custom', message: r.bare === true ? `${name}: ${r.expected}` : `${name}: "${text}" ${r.expected}`, params: { example: r.example } });
      return z.NEVER;
    });
}

const text = (name: string) => variable(name, (t) => ok(t));
const wholeNumber = (min: number, max: number, expected: string, example: string) => (t: string) => {
  const n = Number(t);
  return /^\d+$/.test(t) && Number.isSafeInteger(n) && n >= min && n <= max ? ok(n) : bad(expected, example);
};
const seconds = (max: number, expected: string, example: string) => (t: string) => {
  const n = Number(t);
  return /^\d+(\.\d+)?$/.test(t) && Number.isFinite(n) && n <= max ? ok(n) : bad(expected, example);
};
const duration = (min: number, example: string) => (t: string) => {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(t);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m?.[2]?.toLowerCase() ?? 's') as 'ms' | 's' | 'm' | 'h'];
  const ms = m ? Math.round(Number(m[1]) * unit) : NaN;
  return Number.isFinite(ms) && ms >= min ? ok(ms) : bad(`is not a duration; expected one of at least ${min >= 1000 ? `${min / 1000}s` : `${min}ms`} such as 30s, 15m, 1h or a number of seconds`, example);
};
const limit = (key: keyof LoadLimits) => wholeNumber(1, Number.MAX_SAFE_INTEGER, `is not a whole number >= 1 (default ${LOCAL_LOAD_LIMITS[key]})`, String(LOCAL_LOAD_LIMITS[key]));

const SCHEMA = z.object({
  [CLI_ENV.workspace]: text(CLI_ENV.workspace),
  [CLI_ENV.env]: text(CLI_ENV.env),
  [CLI_ENV.bucket]: text(CLI_ENV.bucket),
  [CLI_ENV.databaseUrl]: variable(CLI_ENV.databaseUrl, (t) => {
    try {
      parseDatabaseUrl(t);
      return ok(t);
    } catch (err) {
      return { ok: false, expected: err instanceof Error ? err.message : String(err), example: 'pglite://./.aqe-sync/db', bare: true };
    }
  }),
  [CLI_ENV.debug]: text(CLI_ENV.debug),
  [CLI_ENV.storageRetries]: variable(CLI_ENV.storageRetries, wholeNumber(0, MAX_STORAGE_RETRIES, `is not a retry count; expected a whole number from 0 to ${MAX_STORAGE_RETRIES} (default 6)`, '6')),
  [CLI_ENV.pullKeepBackups]: variable(CLI_ENV.pullKeepBackups, wholeNumber(1, 1000, `is not a backup count; expected a whole number from 1 to 1000 (default ${DEFAULT_PULL_KEEP_BACKUPS})`, '5')),
  [CLI_ENV.loadMaxSourceBytes]: variable(CLI_ENV.loadMaxSourceBytes, limit('maxSourceBytes')),
  [CLI_ENV.loadMaxSnapshotBytes]: variable(CLI_ENV.loadMaxSnapshotBytes, limit('maxSnapshotBytes')),
  [CLI_ENV.loadMaxSources]: variable(CLI_ENV.loadMaxSources, limit('maxSources')),
  [CLI_ENV.host]: variable(CLI_ENV.host, (t) => (/^[A-Za-z0-9_.-]{1,63}$/.test(t) ? ok(t) : bad('is not a host label; expected letters, digits, ".", "_" or "-" (at most 63)', 'my-laptop'))),
  [CLI_ENV.lockTimeout]: variable(CLI_ENV.lockTimeout, seconds(86_400, `is not a number of seconds; expected 0 to 86400 (default ${DEFAULT_LOCK_TIMEOUT_SECONDS})`, '300')),
  [CLI_ENV.modelDir]: text(CLI_ENV.modelDir),
  [CLI_ENV.embedBudgetSeconds]: variable(CLI_ENV.embedBudgetSeconds, seconds(Number.MAX_SAFE_INTEGER, `is not a number of seconds; expected a number >= 0 (default ${DEFAULT_EMBED_BUDGET_SECONDS})`, '120')),
  [CLI_ENV.syncInterval]: variable(CLI_ENV.syncInterval, duration(1000, '15m')),
  [CLI_ENV.retentionDays]: variable(CLI_ENV.retentionDays, wholeNumber(1, Number.MAX_SAFE_INTEGER, `is not a number of days; expected a whole number >= 1 (default ${DEFAULT_RETENTION_DAYS})`, '90')),
  [CLI_ENV.iapZone]: text(CLI_ENV.iapZone),
  [CLI_ENV.iapProject]: text(CLI_ENV.iapProject),
  [CLI_ENV.dbUser]: text(CLI_ENV.dbUser),
  [CLI_ENV.dbName]: text(CLI_ENV.dbName),
  [CLI_ENV.dbPasswordSecret]: variable(CLI_ENV.dbPasswordSecret, (t) =>
    /^projects\/[^/\s]+\/secrets\/[^/\s]+$/.test(t) ? ok(t) : bad('is not a secret name; expected projects/<project>/secrets/<secret>, e.g. projects/my-project/secrets/aqe-db-password', 'projects/my-project/secrets/aqe-db-password'),
  ),
  [CLI_ENV.iapTimeout]: variable(CLI_ENV.iapTimeout, duration(100, '30s')),
  [PGPASSWORD]: z.string().optional(),
});

/**
 * The settings the environment gives, and a problem per bad variable (pure; values of bad
 * variables fall back to their defaults).
 * @example readEnvSettings({ AQE_LOCK_TIMEOUT: '30' }).value.lockTimeoutMs // 30000
 */
export function readEnvSettings(env: EnvMap): { value: Readonly<EnvSettings>; problems: EnvProblem[] } {
  const picked: Record<string, string | undefined> = {};
  for (const name of [...Object.values(CLI_ENV), PGPASSWORD]) picked[name] = env[name];
  const problems: EnvProblem[] = [];
  let parsed = SCHEMA.safeParse(picked);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0]);
      const example = (issue as { params?: { example?: string } }).params?.example ?? '';
      problems.push({ variable: name, message: issue.message, example });
      picked[name] = undefined;
    }
    parsed = SCHEMA.safeParse(picked);
  }
  if (!parsed.success) throw new Error(`env settings: ${parsed.error.message}`); // unreachable: every bad value was dropped
  const e = parsed.data;
  const value: EnvSettings = {
    workspace: e[CLI_ENV.workspace],
    env: e[CLI_ENV.env],
    bucket: e[CLI_ENV.bucket],
    databaseUrl: e[CLI_ENV.databaseUrl],
    debug: e[CLI_ENV.debug] === '1',
    storageRetries: e[CLI_ENV.storageRetries],
    pullKeepBackups: e[CLI_ENV.pullKeepBackups] ?? DEFAULT_PULL_KEEP_BACKUPS,
    loadLimits: Object.freeze({
      maxSourceBytes: e[CLI_ENV.loadMaxSourceBytes] ?? LOCAL_LOAD_LIMITS.maxSourceBytes,
      maxSnapshotBytes: e[CLI_ENV.loadMaxSnapshotBytes] ?? LOCAL_LOAD_LIMITS.maxSnapshotBytes,
      maxSources: e[CLI_ENV.loadMaxSources] ?? LOCAL_LOAD_LIMITS.maxSources,
    }),
    host: e[CLI_ENV.host],
    lockTimeoutMs: Math.round((e[CLI_ENV.lockTimeout] ?? DEFAULT_LOCK_TIMEOUT_SECONDS) * 1000),
    modelDir: e[CLI_ENV.modelDir],
    embedBudgetSeconds: e[CLI_ENV.embedBudgetSeconds] ?? DEFAULT_EMBED_BUDGET_SECONDS,
    syncIntervalMs: e[CLI_ENV.syncInterval],
    retentionDays: e[CLI_ENV.retentionDays] ?? DEFAULT_RETENTION_DAYS,
    iap: {
      zone: e[CLI_ENV.iapZone],
      project: e[CLI_ENV.iapProject],
      dbUser: e[CLI_ENV.dbUser],
      dbName: e[CLI_ENV.dbName],
      passwordSecret: e[CLI_ENV.dbPasswordSecret],
      timeoutMs: e[CLI_ENV.iapTimeout],
      pgPasswordSet: (e[PGPASSWORD] ?? '').trim() !== '',
    },
  };
  return { value: deepFreeze(value), problems };
}

/**
 * The settings, or one AppError CONFIG_INVALID naming every bad variable, ending with a runnable
 * `Try:` line for `command` (exit code 2).
 * @example loadEnvSettings(process.env, 'push')
 */
export function loadEnvSettings(env: EnvMap, command = 'push'): Readonly<EnvSettings> {
  const { value, problems } = readEnvSettings(env);
  if (problems.length === 0) return value;
  const first = problems[0]!;
  const tryLine = `Try: ${first.variable}=${first.example} aqe-upload ${command}`;
  const message =
    problems.length === 1
      ? `${first.message}\n${tryLine}`
      : `invalid environment (${problems.length} problems):\n${problems.map((p) => `  - ${p.message}`).join('\n')}\n${tryLine}`;
  throw new AppError('CONFIG_INVALID', message, { details: { problems: problems.map((p) => p.message) } });
}

function deepFreeze<T extends object>(o: T): Readonly<T> {
  for (const v of Object.values(o)) if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) deepFreeze(v as object);
  return Object.freeze(o);
}

/** Settings as they are, or read from an env map (callers outside the CLI's entry: tests, tools). */
export function settingsFrom(source: Readonly<EnvSettings> | EnvMap): { value: Readonly<EnvSettings>; problems: EnvProblem[] } {
  if (isEnvSettings(source)) return { value: source, problems: [] };
  return readEnvSettings(source);
}

function isEnvSettings(source: Readonly<EnvSettings> | EnvMap): source is Readonly<EnvSettings> {
  return typeof (source as { iap?: unknown }).iap === 'object';
}
