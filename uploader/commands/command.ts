// What a command is: a name, its commander options, the zod schema its parsed options go through
// (typed flags; every bad flag reported at once), and a `run(flags, config, io)` that reads →
// plans → writes and returns an outcome. Only the entry point (run-cli.ts) sets exit codes.

import type { Command } from 'commander';
import { z } from 'zod';
import { AppError } from '../../schema/errors.js';
import type { CliIo, CommandOutcome } from '../cli-io.js';
import type { CliConfig } from '../config/cli-config.js';

export type { CliIo, CommandOutcome } from '../cli-io.js';
export type { CliConfig } from '../config/cli-config.js';

/** The flags every command has (added by run-cli.ts). */
export const COMMON_FLAGS = z.object({
  json: z.boolean().default(false),
  quiet: z.boolean().optional(),
  verbose: z.boolean().optional(),
});

export type FlagsSchema = z.ZodObject;

export interface CliCommand<F extends FlagsSchema = FlagsSchema> {
  name: string;
  /** The command run when none is named (at most one). */
  isDefault?: boolean;
  /** Adds the description and options; `--json`, `-q`, `-v` are added for every command by the entry point. */
  define(cmd: Command): Command;
  /**
   * Commander's parsed options (camelCase keys; named arguments by name) → typed flags. Every
   * option `define` adds has a key here (a test checks it); COMMON_FLAGS are merged in.
   */
  flags: F;
  /** The `Try:` line of a flag problem that brings none of its own. */
  example: string;
  run(flags: z.output<F> & z.output<typeof COMMON_FLAGS>, config: Readonly<CliConfig>, io: CliIo): Promise<CommandOutcome>;
}

/** A command with its flag types checked against its schema (the list holds them erased). */
export function defineCommand<F extends FlagsSchema>(command: CliCommand<F>): CliCommand {
  return command as unknown as CliCommand;
}

/**
 * The typed flags of `command` from commander's options, or one USAGE error listing every bad
 * flag and ending with a `Try:` line (the first problem's own, else the command's example).
 */
export function parseFlags<F extends FlagsSchema>(command: CliCommand<F>, opts: Record<string, unknown>): z.output<F> & z.output<typeof COMMON_FLAGS> {
  const parsed = command.flags.extend(COMMON_FLAGS.shape).safeParse(opts);
  if (parsed.success) return parsed.data as z.output<F> & z.output<typeof COMMON_FLAGS>;
  const problems = parsed.error.issues.map((i) => ({ message: i.code === 'custom' ? i.message : `--${kebab(String(i.path[0] ?? '?'))}: ${i.message}`, tryLine: (i as { params?: { try?: string } }).params?.try }));
  const tryLine = problems.find((p) => p.tryLine !== undefined)?.tryLine ?? command.example;
  throw new AppError('USAGE', `${problems.map((p) => p.message).join('\n')}\nTry: ${tryLine}`, { details: { problems: problems.map((p) => p.message) } });
}

/** Parses the flags and runs the command (what run-cli.ts does, without commander: tests, wrappers). */
export function runCommand(command: CliCommand, opts: Record<string, unknown>, config: Readonly<CliConfig>, io: CliIo): Promise<CommandOutcome> {
  return command.run(parseFlags(command, opts), config, io);
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
