// The environment a workspace remembers: the first push with --env writes it to
// `.aqe-sync/workspace.json`, and every later command in that workspace uses it (after --env,
// AQE_ENV and the config file's `env`). One small JSON file, written atomically.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WORKSPACE_CONFIG_FILE, WORKSPACE_STATE_DIR } from '../../schema/config/workspace-config.js';
import type { UploaderConfig } from '../config.js';

export const REMEMBERED_FILE = join(WORKSPACE_STATE_DIR, 'workspace.json');

export interface RememberedEnv {
  env: string;
  /** Absolute path of the file it came from (for messages). */
  file: string;
}

/** The remembered environment of `workspace`, or null (no file, or no usable `env` in it). */
export async function readRememberedEnv(workspace: string): Promise<RememberedEnv | null> {
  const file = join(workspace, REMEMBERED_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const doc = JSON.parse(text) as { env?: unknown };
    // A bad name is kept so loadConfig reports it with this file's path.
    return typeof doc.env === 'string' ? { env: doc.env, file } : null;
  } catch {
    return { env: `(not JSON: ${text.slice(0, 20)})`, file };
  }
}

/** What a push should do about the remembered environment (pure). */
export type RememberDecision = { action: 'record'; env: string } | { action: 'differs'; env: string; remembered: string } | { action: 'none' };

/**
 * A push with an explicit --env in a workspace that remembers nothing (and whose config file sets
 * no env) records it; a push with another --env leaves the record alone and says so.
 */
export function decideRemember(config: Pick<UploaderConfig, 'env' | 'envOrigin'>, remembered: RememberedEnv | null, configFileEnv: boolean): RememberDecision {
  if (config.envOrigin !== 'flag') return { action: 'none' };
  if (remembered === null) return configFileEnv ? { action: 'none' } : { action: 'record', env: config.env };
  return remembered.env === config.env ? { action: 'none' } : { action: 'differs', env: config.env, remembered: remembered.env };
}

/** Writes the remembered environment (atomically). */
export async function writeRememberedEnv(workspace: string, env: string, now = new Date()): Promise<string> {
  const dir = join(workspace, WORKSPACE_STATE_DIR);
  await mkdir(dir, { recursive: true });
  const file = join(workspace, REMEMBERED_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify({ env, recordedAt: now.toISOString(), note: `the environment of this workspace; --env, AQE_ENV or "env" in ${WORKSPACE_CONFIG_FILE} override it` }, null, 2)}\n`);
  await rename(tmp, file);
  return file;
}
