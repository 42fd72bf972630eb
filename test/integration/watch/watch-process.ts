// Test support for `aqe-upload watch` (and any command run beside it): the real CLI as a child
// process, its stdout handed out line by line (one line per push), stopped with a real signal.

import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(REPO, 'uploader', 'cli.ts');

export interface WatchProcess {
  readonly pid: number;
  /** The next stdout line, or throws after `timeoutMs` (with what the process said). */
  nextLine(timeoutMs: number): Promise<string>;
  /** The next line parsed as JSON. */
  nextJson<T = Record<string, unknown>>(timeoutMs: number): Promise<T>;
  /** Lines not taken yet. */
  pending(): string[];
  /** Resolves once `text` appears on stderr. */
  waitForStderr(text: string, timeoutMs: number): Promise<void>;
  stderr(): string;
  /** Sends `signal` (null: none, it is stopping already) and waits for the exit (kills with SIGKILL after `timeoutMs`). */
  stop(signal: NodeJS.Signals | null, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything written to stdout so far (lines taken or not). */
  stdout(): string;
}

/** Starts `node --import tsx uploader/cli.ts watch …args` (env: a clean copy plus `env`). */
export function startWatch(args: readonly string[], env: Record<string, string> = {}): WatchProcess {
  return startCli(['watch', ...args], { AQE_EMBED_BUDGET_SECONDS: '0', ...env });
}

/** Starts any `aqe-upload` command as a child process, watched line by line like the watch. */
export function startCli(args: readonly string[], env: Record<string, string> = {}): WatchProcess {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AQE_')) base[k] = v;
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: REPO, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let allOut = '';
  let buffer = '';
  let errText = '';
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    allOut += d;
    buffer += d;
    let i = buffer.indexOf('\n');
    while (i !== -1) {
      lines.push(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
      i = buffer.indexOf('\n');
    }
    notify();
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    errText += d;
    notify();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // 'close' comes after the last stdout/stderr data
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let done = false;
  void exited.then(() => {
    done = true;
    notify();
  });

  const waitFor = async <T>(take: () => T | undefined, what: string, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = take();
      if (got !== undefined) return got;
      const left = deadline - Date.now();
      if (left <= 0 || done) throw new Error(`${what}: ${done ? 'the watch exited' : `nothing after ${timeoutMs} ms`}\nstdout lines left: ${JSON.stringify(lines)}\nstderr:\n${errText}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  };

  return {
    pid: child.pid ?? -1,
    nextLine: (timeoutMs) => waitFor(() => lines.shift(), 'waiting for a push line', timeoutMs),
    nextJson: async <T>(timeoutMs: number) => JSON.parse(await waitFor(() => lines.shift(), 'waiting for a push line', timeoutMs)) as T,
    pending: () => [...lines],
    waitForStderr: async (text, timeoutMs) => {
      await waitFor(() => (errText.includes(text) ? true : undefined), `waiting for "${text}" on stderr`, timeoutMs);
    },
    stderr: () => errText,
    stdout: () => allOut,
    async stop(signal, timeoutMs = 20_000) {
      if (!done && signal !== null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        const exit = await exited;
        await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
        return exit;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** What one JSON line of the watch holds (the fields the tests read). */
export interface WatchLine {
  at: string;
  reason: 'start' | 'change' | 'interval' | 'retry';
  triggers: string[];
  ok: boolean;
  changedFiles: string[];
  bytesSent: number;
  manifestKey: string | null;
  load: { status: string } | null;
  error: { code: string; message: string } | null;
  retryInMs: number | null;
}
