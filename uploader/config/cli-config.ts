// What every command receives besides its flags: the environment's settings (read once, checked
// all at once: env-settings.ts) and the folder it was started in. Built by run-cli.ts only.

import { type EnvMap, type EnvSettings, loadEnvSettings } from './env-settings.js';

/** The resolved configuration a command runs with (frozen). Workspace settings come from commands/shared.ts. */
export interface CliConfig extends EnvSettings {
  /** The folder the command was started in (relative --workspace / paths resolve against it). */
  cwd: string;
}

/**
 * The configuration of one command run; throws CONFIG_INVALID naming every bad variable.
 * @example const config = loadCliConfig(process.env, process.cwd(), 'push')
 */
export function loadCliConfig(env: EnvMap, cwd: string, command: string): Readonly<CliConfig> {
  return Object.freeze({ ...loadEnvSettings(env, command), cwd });
}
