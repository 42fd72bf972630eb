// Steps several commands share: resolve the workspace and its settings (config file, remembered
// environment) over the run's configuration; pick the database by the one rule; refuse a workspace
// with no source at all; remember the environment of the first push with --env.

import { parseWorkspaceConfig } from '../../schema/config/workspace-config.js';
import { AppError } from '../../schema/errors.js';
import type { CliIo } from '../cli-io.js';
import type { CliConfig } from '../config/cli-config.js';
import { chooseDatabase } from '../config/database-url.js';
import type { ConfigFlags, UploaderConfig } from '../config.js';
import { loadConfig, resolveWorkspace } from '../config.js';
import { note } from '../ui/messages.js';
import { assertWorkspace, discoverSources, readConfigText } from '../workspace/discover.js';
import { decideRemember, readRememberedEnv, REMEMBERED_FILE, writeRememberedEnv } from '../workspace/remembered-env.js';

/** The workspace's configuration: the flags over the run's settings over its config file. */
export async function workspaceConfig(flags: ConfigFlags, config: Readonly<CliConfig>): Promise<Readonly<UploaderConfig>> {
  const workspace = resolveWorkspace(flags, config, config.cwd);
  await assertWorkspace(workspace);
  return loadConfig({ flags, env: config, workspace, configText: await readConfigText(workspace), remembered: await readRememberedEnv(workspace) });
}

/**
 * The database URL of a command that needs no workspace: --database, else AQE_DATABASE_URL, else
 * the embedded database of --workspace / AQE_WORKSPACE / the current folder (config/database-url.ts).
 */
export function commandDatabaseUrl(flags: Pick<ConfigFlags, 'database' | 'workspace'>, config: Readonly<CliConfig>): string {
  const chosen = chooseDatabase(flags.database, config.databaseUrl, resolveWorkspace(flags, config, config.cwd));
  if (chosen.problem !== null) throw new AppError('CONFIG_INVALID', `${chosen.problem}\nTry: aqe-upload migrate --database pglite://./.aqe-sync/db`);
  return chosen.value.url;
}

/**
 * A usage error when the workspace holds none of the sources (every path missing): pushing it
 * would record an empty snapshot, which is almost always the wrong folder.
 */
export async function assertHasSources(config: Readonly<UploaderConfig>, command: string): Promise<void> {
  const files = (await discoverSources(config)).filter((f) => f.state !== 'excluded' && f.state !== 'disabled');
  if (files.length > 0 && files.some((f) => f.state !== 'missing')) return;
  throw new AppError(
    'USAGE',
    `${config.workspace} holds no learning-data source (none of ${files.length} known paths exists): is it the right folder?\n` + `Try: aqe-upload sources --workspace ${config.workspace}   (lists where ${command} looks)`,
  );
}

/** After a push: remember --env for the workspace the first time, or say that the remembered one stays. */
export async function rememberEnvAfterPush(config: Readonly<UploaderConfig>, io: CliIo): Promise<void> {
  const remembered = await readRememberedEnv(config.workspace);
  const text = await readConfigText(config.workspace);
  const parsed = text === null ? null : parseWorkspaceConfig(text);
  const decision = decideRemember(config, remembered, parsed?.ok === true && parsed.config.env !== undefined);
  if (decision.action === 'record') {
    await writeRememberedEnv(config.workspace, decision.env);
    note(io, `This workspace now uses environment "${decision.env}" by default (remembered in ${REMEMBERED_FILE}); later commands need no --env.`);
  } else if (decision.action === 'differs') {
    note(io, `note: pushed as "${decision.env}"; this workspace's default environment stays "${decision.remembered}" (${REMEMBERED_FILE}).`);
  }
}
