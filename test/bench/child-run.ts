// Runs one child benchmark script (`node --import tsx test/bench/child-*.ts …`) in a separate
// process and returns the JSON object it prints as its last stdout line (peak RSS is measured
// there with process.resourceUsage().maxRSS, so the parent's heap does not count).
import { spawn } from 'node:child_process';
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

/** Peak RSS of this process so far, MB (maxRSS is in kilobytes on Linux). */
export function peakRssMb(): number {
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
