// Steps several commands share: resolve the workspace, read its config file and remembered
// environment, load the config; refuse a workspace with no source at all; remember the
// environment of the first push with --env.

import { parseWorkspaceConfig } from '../../schema/config/workspace-config.js';
import { AppError } from '../../schema/errors.js';
import type { UploaderConfig } from '../config.js';
import { loadConfig, resolveWorkspace } from '../config.js';
import { note } from '../ui/messages.js';
import { assertWorkspace, discoverSources, readConfigText } from '../workspace/discover.js';
import { decideRemember, readRememberedEnv, REMEMBERED_FILE, writeRememberedEnv } from '../workspace/remembered-env.js';
import type { CliIo } from './command.js';
import { stringOpt } from './command.js';

/** The configuration for a command, from its flags, the environment and the workspace's config file. */
export async function commandConfig(opts: Record<string, unknown>, io: CliIo): Promise<Readonly<UploaderConfig>> {
  const flags = { workspace: stringOpt(opts, 'workspace'), env: stringOpt(opts, 'env'), bucket: stringOpt(opts, 'bucket'), database: stringOpt(opts, 'database') };
  const workspace = resolveWorkspace(flags, io.env, io.cwd);
  await assertWorkspace(workspace);
  return loadConfig({ flags, env: io.env, workspace, configText: await readConfigText(workspace), remembered: await readRememberedEnv(workspace) });
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
