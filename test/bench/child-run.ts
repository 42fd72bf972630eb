// Runs one child benchmark script (`node --import tsx test/bench/child-*.ts …`) in a separate
// process and returns the JSON object it prints as its last stdout line (peak RSS is measured
// there, from the child's own VmHWM: see peakRssMb).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ChildResult {
  /** Peak resident set size of the child, in MB. */
  maxRssMb: number;
  /** Wall time seen by the parent (spawn to exit), ms. */
  wallMs: number;
  [key: string]: unknown;
}

/** A finished process: its exit code, what it printed, and its wall time (spawn to exit). */
interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/** Runs `command args` from the repo root and collects its output; never rejects for an exit code. */
function runCollecting(command: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Finished> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, wallMs: performance.now() - started }));
  });
}

/** The finished process, or an error naming it with the end of its stderr. */
function succeeded(run: Finished, name: string): Finished {
  if (run.code !== 0) throw new Error(`${name} exited with ${run.code}: ${run.stderr.slice(-2000)}`);
  return run;
}

/** A child's JSON result: its stdout whole when it is an indented document (the CLI's --json), else its last line. */
function jsonResult(out: string, name: string): Record<string, unknown> {
  const trimmed = out.trim();
  try {
    return JSON.parse(trimmed.startsWith('{\n') ? trimmed : (trimmed.split('\n').pop() ?? '')) as Record<string, unknown>;
  } catch {
    throw new Error(`${name}: expected a JSON line on stdout, got ${JSON.stringify(out.slice(-500))}`);
  }
}

/** Runs `node --import tsx <script> ...args` from the repo root; rejects on a non-zero exit. */
export async function runChild(script: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  const run = succeeded(await runCollecting(process.execPath, ['--import', 'tsx', script, ...args], options.env), script);
  const parsed = jsonResult(run.stdout, script);
  return { maxRssMb: Number(parsed['maxRssMb'] ?? Number.NaN), ...parsed, wallMs: run.wallMs };
}

/**
 * Peak RSS of this process so far, MB: VmHWM of /proc/self/status (the peak of this process's own
 * memory since it was exec'd). Not process.resourceUsage().maxRSS: on Linux a spawned child
 * inherits its parent's high-water mark through fork (a bench holding 600 MB made every child it
 * started report 600 MB or more). maxRSS only where /proc is not there.
 */
export function peakRssMb(): number {
  try {
    const kb = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kb !== undefined) return Number(kb) / 1024;
  } catch {
    /* no /proc: below */
  }
  return process.resourceUsage().maxRSS / 1024;
}

/** Runs `node --import tsx …args` from the repo root and returns its wall time (ms) and stdout; rejects on a non-zero exit. */
export async function timeCommand(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<{ wallMs: number; stdout: string }> {
  const run = succeeded(await runCollecting(process.execPath, ['--import', 'tsx', ...args], options.env), args.join(' '));
  return { wallMs: run.wallMs, stdout: run.stdout };
}

/**
 * Runs a plain JavaScript file with node, no TypeScript loader (`node <script> …args`, from the
 * repo root): the built CLI (`dist/uploader/cli.js`, as `aqe-upload` runs for users) or a plain
 * baseline. Returns its stdout as JSON (the CLI's --json document, or a script's last line), its wall time and its peak RSS (read by a
 * preloaded plain script at exit). Rejects on a non-zero exit.
 */
export async function runPlain(script: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  const dir = await mkdtemp(join(tmpdir(), 'aqe-bench-rss-'));
  const rssFile = join(dir, 'peak-rss');
  try {
    const run = succeeded(await runCollecting(process.execPath, ['-r', join(REPO_ROOT, 'test/bench/plain/peak-rss-at-exit.cjs'), script, ...args], { ...options.env, AQE_BENCH_RSS_FILE: rssFile }), script);
    return { ...jsonResult(run.stdout, script), maxRssMb: Number(await readFile(rssFile, 'utf8')), wallMs: run.wallMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Builds dist/ (`npm run build`): the CLI a benchmark runs as users run it must be the code of this checkout. */
export async function buildDist(): Promise<void> {
  succeeded(await runCollecting('npm', ['run', 'build', '--silent']), 'npm run build');
}
