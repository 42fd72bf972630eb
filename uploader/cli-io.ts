// The process surroundings a command writes to, and what a command's run returns: shared by the
// commands and the floors below them (ui/, iap/), so nothing below commands/ imports it.

import type { Writable } from 'node:stream';
import type { EnvMap } from './config/env-settings.js';

/** The process surroundings a command may use (injected, so tests and the lead can run commands in-process). */
export interface CliIo {
  stdout: Writable;
  stderr: Writable & { isTTY?: boolean; columns?: number };
  /**
   * The process environment: read once, by the entry (run-cli.ts → config/env-settings.ts), and
   * handed whole to child processes (gcloud); commands get their settings from the config.
   */
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
