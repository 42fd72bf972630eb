// Runs loader-child.ts as a separate process and, when asked, kills it with SIGKILL at a chosen
// moment: a time after spawn (anywhere in its life, startup included) or a delay after it reports
// entering a phase. Reports where the kill landed (the last phase the child reported) and waits
// until the server has dropped the dead process's connections.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Queryable } from '../../../../functions/db/database.js';

/** Where a loader process is, in order (`copy` and `merge` alternate per table; `model` and `embed` in mode `function` only). */
export const PHASES = ['startup', 'ready', 'model', 'manifest', 'check', 'blobs', 'tx', 'copy', 'merge', 'commit', 'committed', 'embed', 'exit'] as const;
export type Phase = (typeof PHASES)[number];

/** What loader-child.ts receives (one JSON argument). */
export interface ChildArgs {
  mode: 'loader' | 'function';
  bucketDir: string;
  /** Bucket name the function is configured with (mode `function`). */
  bucketName: string;
  dbUrl: string;
  manifestKey: string;
  /** application_name of its connections (to find them in pg_stat_activity). */
  applicationName: string;
  /** Stand-in embedding model folder (mode `function`). */
  modelDir?: string;
  /** Scratch directory (verified blob copies; a killed loader leaves its copies here). */
  tmpDir: string;
}

/** When to kill: `ms` after spawn, or `delayMs` after the child reports entering `phase`. */
export type KillAt = { kind: 'time'; ms: number } | { kind: 'phase'; phase: Phase; delayMs: number };

export interface ChildRun {
  /** Ended by our SIGKILL (false: it finished first). */
  killed: boolean;
  /** The last phase the child reported before it ended (`startup`: none yet). */
  lastPhase: Phase;
  /** Phases reported, with the child's clock (ms since its start). */
  markers: { phase: Phase; ms: number }[];
  /** Wall time from spawn to exit. */
  elapsedMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** The child's result (LoadOutcome or the function's HandleResult) when it finished. */
  outcome?: { status: string; [k: string]: unknown };
}

const CHILD = fileURLToPath(new URL('./loader-child.ts', import.meta.url));
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * Runs one loader process to its end, or kills it with SIGKILL at `killAt`.
 *
 * @example const run = await runLoaderChild(args, { kind: 'phase', phase: 'copy', delayMs: 20 }); // run.lastPhase: 'copy' | 'merge' | …
 */
export function runLoaderChild(args: ChildArgs, killAt?: KillAt): Promise<ChildRun> {
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], {
    cwd: REPO,
    env: { ...process.env, TMPDIR: args.tmpDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const markers: { phase: Phase; ms: number }[] = [];
  let outcome: ChildRun['outcome'];
  let stderr = '';
  let pending = '';
  let killTimer: NodeJS.Timeout | undefined;
  let armed = false;
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  if (killAt?.kind === 'time') {
    armed = true;
    killTimer = setTimeout(kill, killAt.ms);
  }
  const onLine = (line: string) => {
    if (line.startsWith('@phase ')) {
      const [, phase, ms] = line.split(' ');
      markers.push({ phase: phase as Phase, ms: Number(ms) });
      if (killAt?.kind === 'phase' && phase === killAt.phase && !armed) {
        armed = true;
        if (killAt.delayMs <= 0) kill();
        else killTimer = setTimeout(kill, killAt.delayMs);
      }
    } else if (line.startsWith('@outcome ')) {
      outcome = JSON.parse(line.slice('@outcome '.length)) as ChildRun['outcome'];
    }
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    pending += d;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      onLine(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 20_000) stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (killTimer) clearTimeout(killTimer);
      resolve({
        killed: signal === 'SIGKILL',
        lastPhase: markers.at(-1)?.phase ?? 'startup',
        markers,
        elapsedMs: performance.now() - started,
        code,
        signal,
        stderr,
        ...(outcome ? { outcome } : {}),
      });
    });
  });
}

/** Waits until no backend with `applicationName` is left (the server noticed the dead client and rolled back). */
export async function waitForBackendsGone(db: Queryable, applicationName: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
    if (Number(res.rows[0]?.n) === 0) return;
    if (Date.now() > deadline) throw new Error(`backends of "${applicationName}" still there after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
