// Steps several commands share: resolve the workspace, read its config file, load the config.

import type { UploaderConfig } from '../config.js';
import { loadConfig, resolveWorkspace } from '../config.js';
import { assertWorkspace, readConfigText } from '../workspace/discover.js';
import type { CliIo } from './command.js';
import { stringOpt } from './command.js';

/** The configuration for a command, from its flags, the environment and the workspace's config file. */
export async function commandConfig(opts: Record<string, unknown>, io: CliIo): Promise<Readonly<UploaderConfig>> {
  const flags = { workspace: stringOpt(opts, 'workspace'), env: stringOpt(opts, 'env'), bucket: stringOpt(opts, 'bucket'), database: stringOpt(opts, 'database') };
  const workspace = resolveWorkspace(flags, io.env, io.cwd);
  await assertWorkspace(workspace);
  return loadConfig({ flags, env: io.env, workspace, configText: await readConfigText(workspace) });
}
