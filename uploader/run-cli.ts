// The CLI's program: commander wiring of the command list, and the one place that turns command
// outcomes and errors into exit codes (0 ok, 1 failure, 2 usage, 3 partial) and messages.

import { Command, CommanderError } from 'commander';
import type { ErrorCode } from '../schema/errors.js';
import { AppError, errorMessage } from '../schema/errors.js';
import type { CliIo, CommandOutcome } from './commands/command.js';
import { COMMANDS } from './commands/index.js';
import { UPLOADER_ENV } from './config.js';
import { TOOL_NAME, toolVersion } from './tool-info.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, partial: 3 } as const;

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['USAGE', 'CONFIG_INVALID', 'WORKSPACE_NOT_FOUND', 'BUCKET_URL_INVALID']);

/** The exit code for an error: 2 for usage and configuration mistakes, 1 for everything else. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof AppError) return USAGE_CODES.has(err.code) ? EXIT.usage : EXIT.failure;
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  return EXIT.failure;
}

/**
 * Runs aqe-upload with user arguments (no `node`/script prefix) and returns the exit code.
 * @example const code = await runCli(['sources', '--json'], { stdout, stderr, env: process.env, cwd: process.cwd() })
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  let outcome = 'ok' as CommandOutcome;
  const json = args.includes('--json');
  const program = new Command(TOOL_NAME)
    .description('Snapshot AI-agent learning data (agentic-qe, claude-flow, ruvector) into a bucket, consistently and incrementally.')
    .version(toolVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .showSuggestionAfterError(true);
  for (const command of COMMANDS) {
    const cmd = program.command(command.name, command.isDefault ? { isDefault: true } : {});
    command.define(cmd).option('--json', 'print one JSON document on stdout instead of text');
    cmd.action(async (...args: unknown[]) => {
      // commander passes (arg1, …, argN, opts, command): named arguments join the options
      const self = args.at(-1) as Command;
      const opts: Record<string, unknown> = { ...self.opts() };
      self.registeredArguments.forEach((a, i) => {
        opts[a.name()] = self.processedArgs[i];
      });
      outcome = await command.run(opts, io);
    });
  }

  try {
    await program.parseAsync([...args], { from: 'user' });
    return outcome === 'partial' ? EXIT.partial : outcome === 'failure' ? EXIT.failure : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message; help and version end here with 0.
      if (err.exitCode === 0) return EXIT.ok;
      io.stderr.write(`Try: ${TOOL_NAME} --help\n`);
      return EXIT.usage;
    }
    reportError(err, io, json);
    return exitCodeOf(err);
  }
}

function reportError(err: unknown, io: CliIo, json: boolean): void {
  const debug = io.env[UPLOADER_ENV.debug] === '1';
  const message = err instanceof AppError ? err.message : `unexpected error: ${errorMessage(err)} (set ${UPLOADER_ENV.debug}=1 to see details)`;
  io.stderr.write(`${TOOL_NAME}: ${message}\n`);
  if (debug) io.stderr.write(`${stackChain(err)}\n`);
  if (json) {
    const code = err instanceof AppError ? err.code : 'INTERNAL';
    io.stdout.write(`${JSON.stringify({ error: { code, message, exitCode: exitCodeOf(err), transient: err instanceof AppError && err.transient } }, null, 2)}\n`);
  }
}

function stackChain(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    parts.push(current instanceof Error ? (current.stack ?? current.message) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) parts.push('Caused by:');
  }
  return parts.join('\n');
}
