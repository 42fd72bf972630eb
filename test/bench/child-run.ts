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

/** Runs `node --import tsx <script> ...args` from the repo root; rejects on a non-zero exit. */
export function runChild(script: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0) {
        reject(new Error(`${script} exited with ${code}: ${err.slice(-2000)}`));
        return;
      }
      const last = out.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(last) as Record<string, unknown>;
        resolve({ maxRssMb: Number(parsed['maxRssMb'] ?? Number.NaN), ...parsed, wallMs });
      } catch {
        reject(new Error(`${script}: expected a JSON line on stdout, got ${JSON.stringify(out.slice(-500))}`));
      }
    });
  });
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
export function timeCommand(args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<{ wallMs: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${args.join(' ')} exited with ${code}: ${err.slice(-2000)}`));
      else resolve({ wallMs: performance.now() - started, stdout: out });
    });
  });
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
  const started = performance.now();
  try {
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', join(REPO_ROOT, 'test/bench/plain/peak-rss-at-exit.cjs'), script, ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...options.env, AQE_BENCH_RSS_FILE: rssFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${script} exited with ${code}: ${stderr.slice(-2000)}`))));
    });
    const wallMs = performance.now() - started;
    let parsed: Record<string, unknown>;
    try {
      // the CLI's --json document (indented), or a child's last line
      parsed = JSON.parse(out.trim().startsWith('{\n') ? out : (out.trim().split('\n').pop() ?? '')) as Record<string, unknown>;
    } catch {
      throw new Error(`${script}: expected a JSON line on stdout, got ${JSON.stringify(out.slice(-500))}`);
    }
    return { ...parsed, maxRssMb: Number(await readFile(rssFile, 'utf8')), wallMs };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Builds dist/ (`npm run build`): the CLI a benchmark runs as users run it must be the code of this checkout. */
export function buildDist(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', 'build', '--silent'], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited with ${code}: ${stderr.slice(-2000)}`))));
  });
}
