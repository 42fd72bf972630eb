// The workspace's resolved configuration: flags > environment variables (their settings, read by
// config/env-settings.ts) > aqe-sync.config.json > defaults. Pure: given the flags, the settings
// (or an env map) and the config file text, it returns one frozen config or throws one AppError
// listing every problem. Only the config modules read the environment.

import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExtraSource, WorkspaceConfig } from '../schema/config/workspace-config.js';
import { parseWorkspaceConfig, WORKSPACE_CONFIG_FILE, WORKSPACE_STATE_DIR } from '../schema/config/workspace-config.js';
import { AppError } from '../schema/errors.js';
import type { SourceFormat, SourceKind, SourceRole } from '../schema/sources/catalogue.js';
import { CATALOGUE, ENV_NAME_PATTERN } from '../schema/sources/catalogue.js';
import { type OpenBlobStoreOptions, parseBucketUrl } from '../functions/storage/open-blob-store.js';
import type { LoadLimits } from '../functions/loader/policy/load-limits.js';
import { CLI_ENV, type EnvMap, type EnvSettings, readEnvSettings, settingsFrom } from './config/env-settings.js';
import { chooseDatabase, type DatabaseSetting } from './config/database-url.js';

export type { EnvMap, EnvSettings, EnvProblem } from './config/env-settings.js';
export { CLI_ENV, DEFAULT_PULL_KEEP_BACKUPS, LOCAL_LOAD_LIMITS, MAX_STORAGE_RETRIES, loadEnvSettings, readEnvSettings } from './config/env-settings.js';
export type { DatabaseSetting } from './config/database-url.js';
export { chooseDatabase, defaultDatabaseUrl } from './config/database-url.js';

/**
 * AQE_LOAD_MAX_SOURCE_BYTES, AQE_LOAD_MAX_SNAPSHOT_BYTES, AQE_LOAD_MAX_SOURCES over
 * LOCAL_LOAD_LIMITS, with a problem string per bad value (for callers outside the CLI, e.g. the
 * benchmarks' child processes).
 */
export function parseLoadLimits(env: EnvMap): { value: LoadLimits; problems: string[] } {
  const { value, problems } = readEnvSettings(env);
  return { value: { ...value.loadLimits }, problems: problems.filter((p) => p.variable.startsWith('AQE_LOAD_MAX_')).map((p) => p.message) };
}

/** Options for openBlobStore from a retry count (undefined: the store's default budget). */
export function storeOptions(storageRetries: number | undefined): OpenBlobStoreOptions {
  return storageRetries === undefined ? {} : { gcsRetry: { maxRetries: storageRetries } };
}

/** Environment name used when none is given by flag, AQE_ENV or the config file. */
export const DEFAULT_ENV = 'local';

/** Options that come from the command line (undefined = not given). */
export interface ConfigFlags {
  workspace?: string | undefined;
  env?: string | undefined;
  bucket?: string | undefined;
  database?: string | undefined;
}

/** Where a setting came from, for messages (`remembered`: the workspace's first push with --env). */
export type SettingOrigin = 'flag' | 'env' | 'config' | 'remembered' | 'default';

/** One source to look for: a catalogue entry with the config's overrides, or an extra source. */
export interface SourceSpec {
  id: string;
  /** `auto`: an extra source without a format; decided from the content. */
  kind: SourceKind | 'auto';
  /** null with kind `auto`. */
  format: SourceFormat | null;
  role: SourceRole;
  /** Workspace-relative posix paths; every existing one is captured. */
  paths: readonly string[];
  /** Suffixes of sidecar files captured beside each path when they exist (redb `.meta.json`). */
  sidecars: readonly string[];
  enabled: boolean;
  /** Follow links that resolve outside the workspace (opt-in per source; refused by default). */
  followLinksOutside: boolean;
  origin: 'catalogue' | 'config';
  description: string;
}

export interface UploaderConfig {
  /** Absolute workspace root. */
  workspace: string;
  env: string;
  envOrigin: SettingOrigin;
  /** Bucket URL (gs://… or file:///…). */
  bucket: string;
  bucketOrigin: SettingOrigin;
  /** True for a local directory bucket (file://…: the workspace default or an explicit one); see bucketOrigin. */
  localBucket: boolean;
  /** The database the command uses (--database, AQE_DATABASE_URL, else the workspace's embedded one: config/database-url.ts). */
  database: DatabaseSetting;
  /** AQE_STORAGE_RETRIES (undefined: the default budget). */
  storageRetries: number | undefined;
  /** AQE_PULL_KEEP_BACKUPS: backups of the v3 database `pull` keeps (default 5). */
  pullKeepBackups: number;
  /** The settings of the environment this config was resolved with. */
  settings: Readonly<EnvSettings>;
  /** The machine label manifests record (AQE_HOST, or "host" in the config file); none by default. */
  host: string | undefined;
  /** Absolute path of the config file that was read, or null. */
  configFile: string | null;
  sources: readonly SourceSpec[];
  exclude: readonly string[];
}

/**
 * The workspace root: --workspace, else AQE_WORKSPACE, else the current directory (absolute).
 * `env`: the settings (or, for tests and tools, an env map read through them).
 * @example resolveWorkspace({ workspace: 'ws' }, {}, '/home/me') // '/home/me/ws'
 */
export function resolveWorkspace(flags: Pick<ConfigFlags, 'workspace'>, env: Readonly<EnvSettings> | EnvMap, cwd: string): string {
  const given = nonEmpty(flags.workspace) ?? settingsFrom(env).value.workspace;
  return given === undefined ? cwd : resolve(cwd, given);
}

/** The default local bucket of a workspace. */
export function defaultBucketUrl(workspace: string): string {
  return pathToFileURL(join(workspace, WORKSPACE_STATE_DIR, 'bucket')).href;
}

export interface LoadConfigInput {
  flags: ConfigFlags;
  /** The settings of the environment (from loadEnvSettings at the entry), or an env map to read them from (tests, tools). */
  env: Readonly<EnvSettings> | EnvMap;
  /** Absolute workspace root (from resolveWorkspace). */
  workspace: string;
  /** The config file's text, or null when the workspace has none. */
  configText: string | null;
  /** The environment the workspace remembers (uploader/workspace/remembered-env.ts), if any. */
  remembered?: { env: string; file: string } | null;
}

/**
 * Resolves the configuration. Throws AppError CONFIG_INVALID listing every problem (file issues
 * with their JSON path, bad variables by name), or BUCKET_URL_INVALID when only the bucket is wrong.
 */
export function loadConfig(input: LoadConfigInput): Readonly<UploaderConfig> {
  const { flags, workspace } = input;
  const problems: string[] = [];
  const read = settingsFrom(input.env);
  const settings = read.value;
  problems.push(...read.problems.map((p) => p.message));
  const configPath = join(workspace, WORKSPACE_CONFIG_FILE);
  let file: WorkspaceConfig = {};
  if (input.configText !== null) {
    const parsed = parseWorkspaceConfig(input.configText);
    if (parsed.ok) file = parsed.config;
    else problems.push(...parsed.issues.map((i) => `${configPath}: ${i}`));
  }

  const envSetting = pick<string>([
    [nonEmpty(flags.env), 'flag', '--env'],
    [settings.env, 'env', CLI_ENV.env],
    [file.env, 'config', `${configPath}: env`],
    [input.remembered?.env, 'remembered', `${input.remembered?.file ?? ''}: env (remembered from the first push with --env)`],
  ]) ?? { value: DEFAULT_ENV, origin: 'default' as const, label: 'default' };
  if (!ENV_NAME_PATTERN.test(envSetting.value)) {
    problems.push(`${envSetting.label}: "${envSetting.value}" is not a valid environment name; expected lowercase letters, digits, "-" or "_" (at most 63), e.g. "laptop"`);
  }

  const bucketSetting = pick<string>([
    [nonEmpty(flags.bucket), 'flag', '--bucket'],
    [settings.bucket, 'env', CLI_ENV.bucket],
    [file.bucket, 'config', `${configPath}: bucket`],
  ]) ?? { value: defaultBucketUrl(workspace), origin: 'default' as const, label: 'default' };
  let bucketError: AppError | null = null;
  let localBucket = false;
  try {
    localBucket = parseBucketUrl(bucketSetting.value).scheme === 'file';
  } catch (err) {
    bucketError = err instanceof AppError ? err : new AppError('BUCKET_URL_INVALID', String(err));
    problems.push(`${bucketSetting.label}: ${bucketError.message.split('\n')[0]}`);
  }

  const host = settings.host ?? file.host;
  if (settings.host === undefined && host !== undefined && !/^[A-Za-z0-9_.-]{1,63}$/.test(host)) problems.push(`${configPath}: host: "${host}" is not a host label; expected letters, digits, ".", "_" or "-" (at most 63)`);

  const database = chooseDatabase(flags.database, settings.databaseUrl, workspace);
  if (database.problem !== null) problems.push(database.problem);

  if (problems.length > 0) {
    if (problems.length === 1 && bucketError !== null) throw bucketError;
    throw new AppError('CONFIG_INVALID', `invalid configuration (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p}`).join('\n')}\nTry: aqe-upload sources --workspace ${workspace}  (after fixing the above)`, {
      details: { problems },
    });
  }

  return Object.freeze({
    workspace,
    env: envSetting.value,
    envOrigin: envSetting.origin,
    bucket: bucketSetting.value,
    bucketOrigin: bucketSetting.origin,
    localBucket,
    database: database.value,
    storageRetries: settings.storageRetries,
    pullKeepBackups: settings.pullKeepBackups,
    settings,
    host,
    configFile: input.configText === null ? null : configPath,
    sources: Object.freeze(planSourceSpecs(file)),
    exclude: Object.freeze([...(file.exclude ?? [])]),
  });
}

/** Catalogue entries with the config's overrides applied, then the extra sources. Pure. */
export function planSourceSpecs(file: WorkspaceConfig): SourceSpec[] {
  const specs: SourceSpec[] = CATALOGUE.map((entry) => {
    const override = file.sources?.[entry.id];
    return {
      id: entry.id,
      kind: entry.kind,
      format: entry.format,
      role: override?.role ?? entry.role,
      paths: override?.paths ?? entry.paths,
      sidecars: entry.sidecars ?? [],
      enabled: override?.enabled ?? true,
      followLinksOutside: override?.followLinksOutside ?? false,
      origin: 'catalogue',
      description: entry.description,
    };
  });
  for (const extra of file.extraSources ?? []) specs.push(extraSpec(extra));
  return specs;
}

function extraSpec(extra: ExtraSource): SourceSpec {
  const format = extra.format ?? null;
  return {
    id: extra.id,
    kind: format === null ? 'auto' : kindOfFormat(format),
    format,
    role: extra.role ?? 'ACTIVE',
    paths: [extra.path],
    sidecars: format === 'ruvector-redb' ? ['.meta.json'] : [],
    enabled: true,
    followLinksOutside: extra.followLinksOutside ?? false,
    origin: 'config',
    description: `extra source from ${WORKSPACE_CONFIG_FILE}`,
  };
}

/** The storage kind a content format implies (`json` may also be a folder: decided on disk). */
export function kindOfFormat(format: SourceFormat): SourceKind {
  switch (format) {
    case 'sqlite':
      return 'sqlite';
    case 'ruvector-redb':
      return 'redb';
    case 'claude-flow-metrics':
      return 'json-dir';
    default:
      return 'json';
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

function pick<T>(candidates: Array<[T | undefined, SettingOrigin, string]>): { value: T; origin: SettingOrigin; label: string } | undefined {
  for (const [value, origin, label] of candidates) if (value !== undefined) return { value, origin, label };
  return undefined;
}
