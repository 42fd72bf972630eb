// Where a command's words go: results on stdout (the command writes them), everything else on
// stderr — warnings and notes unless --quiet, details only with --verbose, progress on a TTY only.

import type { CliIo } from '../cli-io.js';
import { createProgress, type Progress } from './progress.js';

/** How much a run says on stderr besides errors. */
export type Verbosity = 'quiet' | 'normal' | 'verbose';

function verbosityOf(io: CliIo): Verbosity {
  return io.verbosity ?? 'normal';
}

/** `warning: …` on stderr (not with --quiet). */
export function warn(io: CliIo, text: string): void {
  if (verbosityOf(io) !== 'quiet') io.stderr.write(`warning: ${text}\n`);
}

/** A note on stderr (not with --quiet): hints, "waiting for …", what a command chose. */
export function note(io: CliIo, text: string): void {
  if (verbosityOf(io) !== 'quiet') io.stderr.write(`${text}\n`);
}

/** A detail on stderr, only with --verbose. */
export function detail(io: CliIo, text: string): void {
  if (verbosityOf(io) === 'verbose') io.stderr.write(`${text}\n`);
}

/** True when --verbose was given. */
export function isVerbose(io: CliIo): boolean {
  return verbosityOf(io) === 'verbose';
}

/** The progress line of a command: on a TTY, not with --json, not with --quiet. */
export function commandProgress(io: CliIo, flags: { json: boolean }): Progress {
  return createProgress(io.stderr, io.stderr.isTTY === true && !flags.json && verbosityOf(io) !== 'quiet');
}

/** A hint for a human (how to see more, what to run next) on stderr: not with --json or --quiet. */
export function hint(io: CliIo, flags: { json: boolean }, text: string): void {
  if (!flags.json) note(io, text);
}
