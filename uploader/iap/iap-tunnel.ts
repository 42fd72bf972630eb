// The IAP tunnel as a child process: `gcloud compute start-iap-tunnel` in its own process group,
// up once its local port answers like PostgreSQL, and closed by signalling the whole group (gcloud
// is a wrapper script around Python: killing only the wrapper would leave the tunnel running).

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { AppError } from '../../schema/errors.js';
import type { EnvMap } from '../config.js';
import { formatDuration } from '../watch/duration.js';
import type { IapSettings } from './iap-settings.js';
import { tunnelArgs } from './iap-settings.js';
import { describeBytes, type ProbeResult, probePostgres } from './postgres-probe.js';

export interface IapTunnel {
  /** The local end: localhost:<port>. */
  readonly localPort: number;
  /** gcloud's process id (the leader of the tunnel's process group). */
  readonly pid: number;
  /** Ends the tunnel: SIGTERM to the group, SIGKILL after `graceMs`; resolves when gcloud has exited. Idempotent. */
  close(graceMs?: number): Promise<void>;
  /** SIGKILL to the group, synchronously (for process exit). */
  killNow(): void;
}

export interface OpenIapTunnelOptions {
  settings: Pick<IapSettings, 'instance' | 'zone' | 'project' | 'timeoutMs'>;
  /** The environment of gcloud (PATH decides which gcloud runs). */
  env: EnvMap;
  /** The executable (default "gcloud"). */
  gcloud?: string;
  /** Aborting stops the wait (the tunnel is closed, and the abort reason thrown). */
  signal?: AbortSignal;
}

const STDERR_TAIL_LINES = 15;

/**
 * Starts the tunnel on a free local port and resolves once PostgreSQL answers through it. On any
 * failure the tunnel is closed before the error is thrown.
 * @example const tunnel = await openIapTunnel({ settings, env: process.env }); try { … } finally { await tunnel.close(); }
 */
export async function openIapTunnel(options: OpenIapTunnelOptions): Promise<IapTunnel> {
  const { settings } = options;
  const gcloud = options.gcloud ?? 'gcloud';
  const localPort = await freeLocalPort();
  const args = tunnelArgs(settings, localPort);
  const child = spawn(gcloud, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...options.env } as NodeJS.ProcessEnv });
  const output = new OutputTail(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
  let gone: { code: number | null; signal: NodeJS.Signals | null; error?: NodeJS.ErrnoException } | null = null;
  void exited.then((e) => (gone = e));

  const command = `${gcloud} ${args.join(' ')}`;
  if (child.pid === undefined) {
    const e = await exited;
    throw gcloudMissing(gcloud, e.error);
  }
  const pid = child.pid;
  const tunnel = tunnelHandle(pid, localPort, exited, () => gone !== null);

  const deadline = Date.now() + settings.timeoutMs;
  let last: ProbeResult = { kind: 'refused' };
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      if (gone !== null) {
        const g = gone as { code: number | null; signal: NodeJS.Signals | null };
        throw new AppError('DB_CONNECTION', `the IAP tunnel ended before it was up (gcloud exited with ${g.signal ?? `code ${g.code}`}).\n  ${command}\n${output.render()}Check the instance name, zone and project, that you are logged in (gcloud auth login) and have roles/iap.tunnelResourceAccessor on the instance.`, { transient: false, details: { reason: 'TUNNEL_EXITED' } });
      }
      last = await probePostgres('localhost', localPort, Math.min(2000, Math.max(100, deadline - Date.now())));
      if (last.kind === 'postgres') return tunnel;
      if (last.kind === 'other') {
        throw new AppError('DB_CONNECTION', `localhost:${localPort} (the IAP tunnel to ${settings.instance}:5432) answered, but not like PostgreSQL: it sent ${describeBytes(last.bytes)} to an SSLRequest. Is ${settings.instance} the database VM, and is PostgreSQL what listens on its port 5432?`, { transient: false, details: { reason: 'NOT_POSTGRES' } });
      }
      if (Date.now() >= deadline) {
        const seen = last.kind === 'refused' ? `nothing listened on localhost:${localPort}` : `localhost:${localPort} accepted connections but nothing answered through the tunnel`;
        throw new AppError('DB_CONNECTION', `the IAP tunnel to ${settings.instance} did not come up in ${formatDuration(settings.timeoutMs)} (${seen}).\n  ${command}\n${output.render()}Is the instance running (gcloud compute instances describe ${settings.instance})? Give it longer with --iap-timeout 60s.`, { transient: true, details: { reason: 'TUNNEL_TIMEOUT' } });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (err) {
    await tunnel.close();
    throw err;
  }
}

function tunnelHandle(pid: number, localPort: number, exited: Promise<unknown>, hasExited: () => boolean): IapTunnel {
  let closing: Promise<void> | null = null;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is gone already
    }
  };
  return {
    localPort,
    pid,
    close(graceMs = 3000) {
      closing ??= (async () => {
        signalGroup('SIGTERM');
        if (!hasExited()) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
          clearTimeout(timer);
        }
        // Whatever of the group is left (a child that ignored SIGTERM, or outlived the leader) goes now.
        signalGroup('SIGKILL');
        await exited;
      })();
      return closing;
    },
    killNow: () => signalGroup('SIGKILL'),
  };
}

function gcloudMissing(gcloud: string, error: NodeJS.ErrnoException | undefined): AppError {
  if (error?.code === 'ENOENT') {
    return new AppError('DB_CONNECTION', `--iap needs the Google Cloud CLI, and "${gcloud}" was not found on PATH. Install it (https://cloud.google.com/sdk/docs/install, or: brew install --cask google-cloud-sdk / apt-get install google-cloud-cli), run "gcloud auth login", then try again; or open the tunnel yourself and pass --database (infra/DEPLOY.md §7).`, { transient: false, details: { reason: 'GCLOUD_NOT_FOUND' } });
  }
  return new AppError('DB_CONNECTION', `--iap: could not start "${gcloud}": ${error?.message ?? 'unknown error'}`, { transient: false, cause: error, details: { reason: 'GCLOUD_NOT_STARTED' } });
}

/** A free TCP port on localhost (the tunnel binds it a moment later). */
function freeLocalPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, 'localhost', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}

/** The last lines gcloud wrote (stderr and stdout), for messages. */
class OutputTail {
  private lines: string[] = [];
  private partial = '';
  constructor(child: ChildProcess) {
    const take = (d: string) => {
      const parts = (this.partial + d).split(/\r?\n/);
      this.partial = parts.pop() ?? '';
      this.lines.push(...parts.filter((l) => l.trim() !== ''));
      if (this.lines.length > STDERR_TAIL_LINES) this.lines = this.lines.slice(-STDERR_TAIL_LINES);
    };
    child.stderr?.setEncoding('utf8').on('data', take);
    child.stdout?.setEncoding('utf8').on('data', take);
  }
  render(): string {
    const all = [...this.lines, ...(this.partial.trim() ? [this.partial] : [])].slice(-STDERR_TAIL_LINES);
    return all.length === 0 ? 'gcloud printed nothing.\n' : `gcloud said:\n${all.map((l) => `  | ${l}`).join('\n')}\n`;
  }
}
