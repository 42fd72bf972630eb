// The uploader's resolved configuration: flags > environment variables > aqe-sync.config.json >
// defaults. Pure: given the argv-derived flags, an env map and the config file text, it returns
// one frozen config or throws one AppError listing every problem. Nothing else reads process.env.

import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ExtraSource, WorkspaceConfig } from '../schema/config/workspace-config.js';
import { parseWorkspaceConfig, WORKSPACE_CONFIG_FILE, WORKSPACE_STATE_DIR } from '../schema/config/workspace-config.js';
import { AppError } from '../schema/errors.js';
import type { SourceFormat, SourceKind, SourceRole } from '../schema/sources/catalogue.js';
import { CATALOGUE, ENV_NAME_PATTERN } from '../schema/sources/catalogue.js';
import { type OpenBlobStoreOptions, parseBucketUrl } from '../functions/storage/open-blob-store.js';
import type { LoadLimits } from '../functions/loader/policy/load-limits.js';
import { parseDatabaseUrl } from '../functions/db/open-database.js';

/** Environment variables the uploader reads (through loadConfig only). */
export const UPLOADER_ENV = {
  env: 'AQE_ENV',
  bucket: 'AQE_BUCKET',
  workspace: 'AQE_WORKSPACE',
  databaseUrl: 'AQE_DATABASE_URL',
  debug: 'AQE_DEBUG',
  storageRetries: 'AQE_STORAGE_RETRIES',
  pullKeepBackups: 'AQE_PULL_KEEP_BACKUPS',
  loadMaxSourceBytes: 'AQE_LOAD_MAX_SOURCE_BYTES',
  loadMaxSnapshotBytes: 'AQE_LOAD_MAX_SNAPSHOT_BYTES',
  loadMaxSources: 'AQE_LOAD_MAX_SOURCES',
  host: 'AQE_HOST',
} as const;

/** Backups `pull` keeps by default (the newest; older ones are removed after each pull). */
export const DEFAULT_PULL_KEEP_BACKUPS = 5;

/** AQE_PULL_KEEP_BACKUPS: how many pull backups to keep (1-1000). A problem string for a bad value. */
export function parsePullKeepBackups(raw: string | undefined, label: string = UPLOADER_ENV.pullKeepBackups): { value: number | undefined; problem: string | null } {
  const text = nonEmpty(raw);
  if (text === undefined) return { value: undefined, problem: null };
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < 1 || n > 1000) return { value: undefined, problem: `${label}: "${text}" is not a backup count; expected a whole number from 1 to 1000 (default ${DEFAULT_PULL_KEEP_BACKUPS})` };
  return { value: n, problem: null };
}

/**
 * What a load in this process may expand (the CLI's local loads: the scratch folder is on disk,
 * not in memory as in the Cloud Function, so the defaults are larger than DEFAULT_LOAD_LIMITS).
 */
export const LOCAL_LOAD_LIMITS: Readonly<LoadLimits> = Object.freeze({ maxSourceBytes: 16 * 1024 ** 3, maxSnapshotBytes: 32 * 1024 ** 3, maxSources: 10_000 });

/**
 * AQE_LOAD_MAX_SOURCE_BYTES, AQE_LOAD_MAX_SNAPSHOT_BYTES, AQE_LOAD_MAX_SOURCES over
 * LOCAL_LOAD_LIMITS, with a problem string per bad value.
 */
export function parseLoadLimits(env: EnvMap): { value: LoadLimits; problems: string[] } {
  const value: LoadLimits = { ...LOCAL_LOAD_LIMITS };
  const problems: string[] = [];
  const read = (name: string, key: keyof LoadLimits) => {
    const raw = nonEmpty(env[name]);
    if (raw === undefined) return;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) problems.push(`${name}: "${raw}" is not a whole number >= 1 (default ${LOCAL_LOAD_LIMITS[key]})`);
    else value[key] = n;
  };
  read(UPLOADER_ENV.loadMaxSourceBytes, 'maxSourceBytes');
  read(UPLOADER_ENV.loadMaxSnapshotBytes, 'maxSnapshotBytes');
  read(UPLOADER_ENV.loadMaxSources, 'maxSources');
  return { value, problems };
}

/** Most retries per Cloud Storage request AQE_STORAGE_RETRIES accepts (the default is 6). */
export const MAX_STORAGE_RETRIES = 20;

/**
 * AQE_STORAGE_RETRIES: retries per Cloud Storage request after the first attempt (default 6,
 * which rides out ~80-100 s of outage; 0 fails at the first error, e.g. in CI). A problem string
 * for a bad value.
 */
export function parseStorageRetries(env: EnvMap): { value: number | undefined; problem: string | null } {
  const raw = nonEmpty(env[UPLOADER_ENV.storageRetries]);
  if (raw === undefined) return { value: undefined, problem: null };
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n > MAX_STORAGE_RETRIES) {
    return { value: undefined, problem: `${UPLOADER_ENV.storageRetries}: "${raw}" is not a retry count; expected a whole number from 0 to ${MAX_STORAGE_RETRIES} (default 6)` };
  }
  return { value: n, problem: null };
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

export type EnvMap = Readonly<Record<string, string | undefined>>;

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
  databaseUrl: string | undefined;
  /** AQE_STORAGE_RETRIES (undefined: the default budget). */
  storageRetries: number | undefined;
  /** AQE_PULL_KEEP_BACKUPS: backups of the v3 database `pull` keeps (default 5). */
  pullKeepBackups: number;
  /** The machine label manifests record (AQE_HOST, or "host" in the config file); none by default. */
  host: string | undefined;
  /** Absolute path of the config file that was read, or null. */
  configFile: string | null;
  sources: readonly SourceSpec[];
  exclude: readonly string[];
}

/**
 * The workspace root: --workspace, else AQE_WORKSPACE, else the current directory (absolute).
 * @example resolveWorkspace({ workspace: 'ws' }, {}, '/home/me') // '/home/me/ws'
 */
export function resolveWorkspace(flags: ConfigFlags, env: EnvMap, cwd: string): string {
  const given = nonEmpty(flags.workspace) ?? nonEmpty(env[UPLOADER_ENV.workspace]);
  return given === undefined ? cwd : resolve(cwd, given);
}

/** The default local bucket of a workspace. */
export function defaultBucketUrl(workspace: string): string {
  return pathToFileURL(join(workspace, WORKSPACE_STATE_DIR, 'bucket')).href;
}

export interface LoadConfigInput {
  flags: ConfigFlags;
  env: EnvMap;
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
  const { flags, env, workspace } = input;
  const problems: string[] = [];
  const configPath = join(workspace, WORKSPACE_CONFIG_FILE);
  let file: WorkspaceConfig = {};
  if (input.configText !== null) {
    const parsed = parseWorkspaceConfig(input.configText);
    if (parsed.ok) file = parsed.config;
    else problems.push(...parsed.issues.map((i) => `${configPath}: ${i}`));
  }

  const envSetting = pick<string>([
    [nonEmpty(flags.env), 'flag', '--env'],
    [nonEmpty(env[UPLOADER_ENV.env]), 'env', UPLOADER_ENV.env],
    [file.env, 'config', `${configPath}: env`],
    [input.remembered?.env, 'remembered', `${input.remembered?.file ?? ''}: env (remembered from the first push with --env)`],
  ]) ?? { value: DEFAULT_ENV, origin: 'default' as const, label: 'default' };
  if (!ENV_NAME_PATTERN.test(envSetting.value)) {
    problems.push(`${envSetting.label}: "${envSetting.value}" is not a valid environment name; expected lowercase letters, digits, "-" or "_" (at most 63), e.g. "laptop"`);
  }

  const bucketSetting = pick<string>([
    [nonEmpty(flags.bucket), 'flag', '--bucket'],
    [nonEmpty(env[UPLOADER_ENV.bucket]), 'env', UPLOADER_ENV.bucket],
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

  const retries = parseStorageRetries(env);
  const keepBackups = parsePullKeepBackups(env[UPLOADER_ENV.pullKeepBackups]);
  if (keepBackups.problem) problems.push(keepBackups.problem);
  if (retries.problem !== null) problems.push(retries.problem);
  problems.push(...parseLoadLimits(env).problems);
  const host = nonEmpty(env[UPLOADER_ENV.host]) ?? file.host;
  if (host !== undefined && !/^[A-Za-z0-9_.-]{1,63}$/.test(host)) problems.push(`${UPLOADER_ENV.host}: "${host}" is not a host label; expected letters, digits, ".", "_" or "-" (at most 63)`);

  const databaseUrl = nonEmpty(flags.database) ?? nonEmpty(env[UPLOADER_ENV.databaseUrl]);
  if (databaseUrl !== undefined) {
    try {
      parseDatabaseUrl(databaseUrl);
    } catch (err) {
      problems.push(`${nonEmpty(flags.database) !== undefined ? '--database' : UPLOADER_ENV.databaseUrl}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

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
    databaseUrl,
    storageRetries: retries.value,
    pullKeepBackups: keepBackups.value ?? DEFAULT_PULL_KEEP_BACKUPS,
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
