// What a command is: a name, its commander options, and a `run` that reads → plans → writes and
// returns an outcome. Only the entry point (run-cli.ts) turns outcomes and errors into exit codes.

import type { Command } from 'commander';
import type { Writable } from 'node:stream';
import type { EnvMap } from '../config.js';

/** The process surroundings a command may use (injected, so tests and the lead can run commands in-process). */
export interface CliIo {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean; columns?: number };
  env: EnvMap;
  cwd: string;
  /** -q / -v (set by run-cli.ts; default normal). Write through ui/messages.ts. */
  verbosity?: 'quiet' | 'normal' | 'verbose';
}

/**
 * `partial`: the command did its job but some inputs could not be used (exit code 3).
 * `failure`: the command ran and its answer is negative, e.g. verify found differences (exit code 1).
 */
export type CommandOutcome = 'ok' | 'partial' | 'failure';

export interface CliCommand {
  name: string;
  /** The command run when none is named (at most one). */
  isDefault?: boolean;
  /** Adds the description and options; `--json` is added for every command by the entry point. */
  define(cmd: Command): Command;
  /** `opts` are commander's parsed options (validated by the command). */
  run(opts: Record<string, unknown>, io: CliIo): Promise<CommandOutcome>;
}

/** A string option, or undefined. */
export function stringOpt(opts: Record<string, unknown>, name: string): string | undefined {
  const v = opts[name];
  return typeof v === 'string' ? v : undefined;
}
