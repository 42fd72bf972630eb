// The real `aqe-upload` CLI as a child process that a test can kill at any moment (the uploader
// harness's runCliProcess only waits for it). Same clean environment as that harness: no AQE_*
// variables and no STORAGE_EMULATOR_HOST from the test's own environment.

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const CLI = join(REPO, 'uploader', 'cli.ts');

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

export interface CliChild {
  child: ChildProcess;
  exited: Promise<CliExit>;
}

export interface SpawnCliOptions {
  /** Extra environment variables (e.g. STORAGE_EMULATOR_HOST). */
  env?: Record<string, string>;
  /** Rewrites the command line (argv, working directory), e.g. to run it inside another mount namespace (TmpfsMount.wrap). */
  wrap?: (argv: readonly string[], cwd: string) => string[];
}

/**
 * Spawns `node --import tsx uploader/cli.ts …args`.
 * @example const { child, exited } = spawnCli(['push', '--no-load', '--bucket', url]); child.kill('SIGKILL'); await exited;
 */
export function spawnCli(args: readonly string[], options: SpawnCliOptions = {}): CliChild {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AQE_') && k !== 'STORAGE_EMULATOR_HOST') env[k] = v;
  Object.assign(env, options.env);
  const plain = [process.execPath, '--import', 'tsx', CLI, ...args];
  const argv = options.wrap ? options.wrap(plain, REPO) : plain;
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<CliExit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: performance.now() - started }));
  });
  return { child, exited };
}

/** Runs the CLI to its end; rejects (killing it) after `timeoutMs`. */
export async function runCli(args: readonly string[], options: SpawnCliOptions & { timeoutMs?: number } = {}): Promise<CliExit> {
  const { child, exited } = spawnCli(args, options);
  const timeoutMs = options.timeoutMs ?? 120_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`aqe-upload ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The `--json` document a push printed, or null when stdout holds none. */
export function pushJson(run: CliExit): { manifestKey?: string | null; partial?: boolean; totals?: { captured: number; newBlobs: number }; error?: { code: string; message: string; exitCode: number; transient: boolean } } | null {
  try {
    return JSON.parse(run.stdout) as ReturnType<typeof pushJson>;
  } catch {
    return null;
  }
}
