// The CLI's program: commander wiring of the command list, the conventions every command shares
// (-q/--quiet, -v/--verbose, --json with exactly one document on stdout, errors included; unknown
// commands answered with a suggestion), and the one place that turns command outcomes and errors
// into exit codes (0 ok, 1 failure, 2 usage, 3 partial) and messages.

import { Command, CommanderError, Option } from 'commander';
import type { ErrorCode } from '../schema/errors.js';
import { AppError, errorMessage } from '../schema/errors.js';
import type { CliIo, CommandOutcome } from './cli-io.js';
import { parseFlags } from './commands/command.js';
import { COMMANDS } from './commands/index.js';
import { loadCliConfig } from './config/cli-config.js';
import { CLI_ENV, readEnvSettings } from './config/env-settings.js';
import { describeHolder } from './local/database-lock.js';
import { LOCK_TIMEOUT_VARIABLE, runWithLocalDatabaseContext } from './local/local-database.js';
import { suggestCommand } from './ui/did-you-mean.js';
import type { Verbosity } from './ui/messages.js';
import { TOOL_NAME, toolVersion } from './tool-info.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, partial: 3 } as const;

const USAGE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['USAGE', 'CONFIG_INVALID', 'WORKSPACE_NOT_FOUND', 'BUCKET_URL_INVALID']);

/** The exit code for an error: 2 for usage and configuration mistakes, 1 for everything else. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof AppError) return USAGE_CODES.has(err.code) ? EXIT.usage : EXIT.failure;
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  return EXIT.failure;
}

/** What the first word of the arguments asks for: a command, the default command, or nothing known. */
export function resolveCommandWord(args: readonly string[], names: readonly string[]): { kind: 'command' | 'default' | 'top' } | { kind: 'unknown'; word: string; suggestion: string | null } {
  const first = args[0];
  if (first === undefined) return { kind: 'default' };
  if (['-h', '--help', '-V', '--version'].includes(first)) return { kind: 'top' };
  // Options first (`aqe-upload --workspace ws`): the default command, as before.
  if (first.startsWith('-')) return { kind: 'default' };
  if (names.includes(first) || first === 'help') return { kind: 'command' };
  return { kind: 'unknown', word: first, suggestion: suggestCommand(first, names) };
}

/**
 * Runs aqe-upload with user arguments (no `node`/script prefix) and returns the exit code.
 * @example const code = await runCli(['sources', '--json'], { stdout, stderr, env: process.env, cwd: process.cwd() })
 */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  let outcome = 'ok' as CommandOutcome;
  const json = args.includes('--json');
  const verbosity: Verbosity = args.some((a) => a === '-q' || a === '--quiet') ? 'quiet' : args.some((a) => a === '-v' || a === '--verbose') ? 'verbose' : 'normal';
  const runIo: CliIo = { ...io, verbosity };
  let commanderMessage = '';

  const word = resolveCommandWord(args, COMMANDS.map((c) => c.name));
  if (word.kind === 'unknown') {
    const message = `unknown command '${word.word}'${word.suggestion ? ` — did you mean '${word.suggestion}'?` : ''}\nTry: ${TOOL_NAME} ${word.suggestion ?? '--help'}${word.suggestion ? ` ${args.slice(1).join(' ')}`.trimEnd() : ''}`;
    reportError(new AppError('USAGE', message), runIo, json);
    return EXIT.usage;
  }

  const program = new Command(TOOL_NAME)
    .description('Snapshot AI-agent learning data (agentic-qe, claude-flow, ruvector) into a bucket, consistently and incrementally.')
    .version(toolVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: (s, write) => {
        commanderMessage += s;
        write(s);
      },
    })
    .showSuggestionAfterError(true);
  for (const command of COMMANDS) {
    const cmd = program.command(command.name, command.isDefault ? { isDefault: true } : {});
    command
      .define(cmd)
      .option('--json', 'print one JSON document on stdout instead of text (errors too: {"error": {…}})')
      .addOption(new Option('-q, --quiet', 'no warnings, notes or progress on stderr (errors still)').conflicts('verbose'))
      .option('-v, --verbose', 'more detail on stderr (waits, timings, structured logs, error causes)');
    cmd.action(async (...actionArgs: unknown[]) => {
      // commander passes (arg1, …, argN, opts, command): named arguments join the options
      const self = actionArgs.at(-1) as Command;
      const opts: Record<string, unknown> = { ...self.opts() };
      self.registeredArguments.forEach((a, i) => {
        opts[a.name()] = self.processedArgs[i];
      });
      // Flags, then the environment, each with every problem at once, before any I/O.
      const flags = parseFlags(command, opts);
      const config = loadCliConfig(io.env, io.cwd, command.name);
      const lockTimeoutMs = config.lockTimeoutMs;
      outcome = await runWithLocalDatabaseContext(
        {
          owner: `${TOOL_NAME} ${command.name}`,
          timeoutMs: lockTimeoutMs,
          onWait: (holder) => {
            if (verbosity !== 'quiet') io.stderr.write(`waiting for the local database (held by ${describeHolder(holder)})… up to ${Math.round(lockTimeoutMs / 1000)} s (${LOCK_TIMEOUT_VARIABLE})\n`);
          },
          onAcquired: (waitedMs, dataDir) => {
            if (verbosity === 'verbose') io.stderr.write(`${TOOL_NAME}: local database ${dataDir} taken after ${(waitedMs / 1000).toFixed(2)} s of waiting\n`);
          },
        },
        () => command.run(flags, config, runIo),
      );
    });
  }

  try {
    await program.parseAsync([...args], { from: 'user' });
    return outcome === 'partial' ? EXIT.partial : outcome === 'failure' ? EXIT.failure : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed its message; help and version end here with 0.
      if (err.exitCode === 0) return EXIT.ok;
      const message = commanderMessage.replace(/^error: /, '').trim() || err.message;
      const commandName = word.kind === 'command' ? args[0] : word.kind === 'default' ? 'push' : '';
      io.stderr.write(`Try: ${TOOL_NAME} ${commandName ? `${commandName} ` : ''}--help\n`);
      if (json) writeJsonError(io, { code: 'USAGE', message, exitCode: EXIT.usage, transient: false });
      return EXIT.usage;
    }
    reportError(err, runIo, json);
    return exitCodeOf(err);
  }
}

function reportError(err: unknown, io: CliIo, json: boolean): void {
  // The settings may be what failed: AQE_DEBUG alone is read from them here, whatever else is wrong.
  const debug = readEnvSettings(io.env).value.debug || io.verbosity === 'verbose';
  const message = err instanceof AppError ? err.message : `unexpected error: ${errorMessage(err)} (set ${CLI_ENV.debug}=1 or -v to see details)`;
  io.stderr.write(`${TOOL_NAME}: ${message}\n`);
  if (debug) io.stderr.write(`${stackChain(err)}\n`);
  if (json) {
    const code = err instanceof AppError ? err.code : 'INTERNAL';
    writeJsonError(io, { code, message, exitCode: exitCodeOf(err), transient: err instanceof AppError && err.transient });
  }
}

function writeJsonError(io: CliIo, error: { code: string; message: string; exitCode: number; transient: boolean }): void {
  io.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
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
