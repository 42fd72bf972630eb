// Peak memory of processes that cannot report their own maxRSS: a child command that is not one of
// our Node scripts (pgloader, the real `aqe-upload` CLI) and the PostgreSQL backends serving one
// database. Read from /proc/<pid>/status (Linux) while they run; NaN where /proc is unavailable.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import pg from 'pg';

const KB_PER_MB = 1024;

export interface ProcMemory {
  /** VmHWM: peak resident set size so far, kB (includes shared pages the process touched). */
  hwmKb: number;
  /** RssAnon: private (anonymous) resident memory now, kB. */
  anonKb: number;
}

/** The memory lines of /proc/<pid>/status, or null when the process is gone (or not Linux). */
export function readProcMemory(pid: number): ProcMemory | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  const hwmKb = field('VmHWM');
  if (!Number.isFinite(hwmKb)) return null; // a zombie has no memory lines
  return { hwmKb, anonKb: field('RssAnon') };
}

export interface MeasuredRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Spawn to exit, ms. */
  wallMs: number;
  /** Last VmHWM seen before the process exited (polled), MB; NaN if never read. */
  peakRssMb: number;
}

export interface MeasuredRunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** /proc polling period; default 50 ms (VmHWM is a high-water mark: only the last read matters). */
  pollMs?: number;
}

/**
 * Runs `command …args`, collecting stdout/stderr, wall time and peak RSS. Resolves whatever the
 * exit status: the caller decides what a failure means (and shows the output).
 *
 * @example const r = await runMeasured('pgloader', ['sqlite:///tmp/a.db', url]); if (r.code !== 0) throw …
 */
export function runMeasured(command: string, args: readonly string[], options: MeasuredRunOptions = {}): Promise<MeasuredRun> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let peakKb = Number.NaN;
    const poll = () => {
      const m = child.pid === undefined ? null : readProcMemory(child.pid);
      if (m) peakKb = Number.isFinite(peakKb) ? Math.max(peakKb, m.hwmKb) : m.hwmKb;
    };
    const timer = setInterval(poll, options.pollMs ?? 50);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    // 'exit' comes before the streams close: one last read while the process may still be a live pid
    child.on('exit', poll);
    child.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        wallMs: performance.now() - started,
        peakRssMb: peakKb / KB_PER_MB,
      });
    });
  });
}

export interface BackendMemory {
  /** Highest VmHWM of any backend of the database (includes the shared buffers it touched), MB. */
  peakHwmMb: number;
  /** Highest RssAnon (private memory) sampled on any backend of the database, MB. */
  peakAnonMb: number;
  /** Distinct backend pids seen. */
  backends: number;
}

export interface BackendWatch {
  stop(): Promise<BackendMemory>;
}

/**
 * Samples the client backends connected to `database` (found through pg_stat_activity from a
 * connection to the admin URL's database) every `pollMs` until stop().
 *
 * @example const watch = await watchBackends(cluster.adminUrl, tdb.name); await load(); const mem = await watch.stop();
 */
export async function watchBackends(adminUrl: string, database: string, pollMs = 200): Promise<BackendWatch> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  let running = true;
  let peakHwmKb = 0;
  let peakAnonKb = 0;
  const pids = new Set<number>();
  const sample = async () => {
    const res = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
      [database],
    );
    for (const { pid } of res.rows) {
      const m = readProcMemory(pid);
      if (!m) continue;
      pids.add(pid);
      peakHwmKb = Math.max(peakHwmKb, m.hwmKb);
      if (Number.isFinite(m.anonKb)) peakAnonKb = Math.max(peakAnonKb, m.anonKb);
    }
  };
  const loop = (async () => {
    while (running) {
      await sample();
      await new Promise((r) => setTimeout(r, pollMs));
    }
  })();
  // a failed sample ends the loop; stop() rethrows it (this only keeps it from being "unhandled" meanwhile)
  loop.catch(() => undefined);
  return {
    async stop() {
      running = false;
      try {
        await loop;
      } finally {
        await client.end();
      }
      const none = pids.size === 0;
      return { peakHwmMb: none ? Number.NaN : peakHwmKb / KB_PER_MB, peakAnonMb: none ? Number.NaN : peakAnonKb / KB_PER_MB, backends: pids.size };
    },
  };
}

/**
 * Runs `work` while watching the backends of `database`; the watch is stopped whatever happens.
 *
 * @example const { result, backend } = await withBackendWatch(cluster.adminUrl, tdb.name, () => runChild(…));
 */
export async function withBackendWatch<T>(adminUrl: string, database: string, work: () => Promise<T>): Promise<{ result: T; backend: BackendMemory }> {
  const watch = await watchBackends(adminUrl, database);
  let result: T;
  try {
    result = await work();
  } catch (err) {
    await watch.stop().catch(() => undefined);
    throw err;
  }
  return { result, backend: await watch.stop() };
}
