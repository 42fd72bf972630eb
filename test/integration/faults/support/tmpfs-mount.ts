// A tiny tmpfs for disk-full tests. As root (tests and CI) it is mounted directly; where mount is
// refused (EPERM: not root, or no CAP_SYS_ADMIN) it is mounted inside a user + mount namespace
// held by a sleeping process: commands run there through nsenter, and this process reads the
// files through /proc/<pid>/root. Throws when neither works: a disk-full test must not pass unrun.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TmpfsMount {
  mode: 'direct' | 'user-namespace';
  /** The mount point, as commands run through `wrap` see it. */
  path: string;
  /** The same folder, as this process reads and writes it. */
  hostPath: string;
  /** The command line running `argv` in `cwd` where the mount is visible (direct: `argv` itself; else through nsenter). */
  wrap(argv: readonly string[], cwd: string): string[];
  /** Changes the size limit in place (contents kept), e.g. `'64m'`. */
  resize(size: string): Promise<void>;
  /** Unmounts (direct) or ends the holding namespace; safe to call twice. */
  unmount(): Promise<void>;
}

function stderrOf(err: unknown): string {
  const e = err as { stderr?: unknown; message?: unknown };
  return `${typeof e.stderr === 'string' ? e.stderr : ''} ${typeof e.message === 'string' ? e.message : ''}`.trim();
}

const PERMISSION = /permission denied|operation not permitted|must be superuser|only root|EPERM/i;

/**
 * Mounts a tmpfs of `size` (e.g. `'2m'`) on the existing, empty folder `dir`.
 * @example const disk = await mountTmpfs(join(tmp, 'disk'), '2m'); try { … } finally { await disk.unmount(); }
 */
export async function mountTmpfs(dir: string, size: string, options: { mode?: 'auto' | 'direct' | 'user-namespace' } = {}): Promise<TmpfsMount> {
  const mode = options.mode ?? 'auto';
  let directError = '';
  if (mode !== 'user-namespace') {
    try {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
      let mounted = true;
      return {
        mode: 'direct',
        path: dir,
        hostPath: dir,
        wrap: (argv) => [...argv],
        resize: async (next) => void (await run('mount', ['-o', `remount,size=${next}`, dir])),
        unmount: async () => {
          if (!mounted) return;
          mounted = false;
          await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
        },
      };
    } catch (err) {
      directError = stderrOf(err);
      if (mode === 'direct' || !PERMISSION.test(directError)) throw new Error(`cannot mount a tmpfs on ${dir}: ${directError}`);
    }
  }
  return mountInUserNamespace(dir, size, directError);
}

async function mountInUserNamespace(dir: string, size: string, directError: string): Promise<TmpfsMount> {
  const holder: ChildProcess = spawn(
    'unshare',
    ['--user', '--map-root-user', '--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs -o "size=$2" tmpfs "$1" && echo ready && exec sleep 2147483647', 'sh', dir, size],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  holder.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const ready = await new Promise<boolean>((resolve) => {
    holder.stdout?.setEncoding('utf8').on('data', (d: string) => d.includes('ready') && resolve(true));
    holder.once('error', () => resolve(false));
    holder.once('exit', () => resolve(false));
  });
  if (!ready || holder.pid === undefined) {
    holder.kill('SIGKILL');
    throw new Error(
      `cannot mount a tmpfs on ${dir}: mount refused (${directError || 'not tried'}), and in a user namespace too (unshare --user --map-root-user --mount: ${stderr.trim() || 'exited'})`,
    );
  }
  const pid = holder.pid;
  const prefix = ['nsenter', `--target=${pid}`, '--user', '--mount', '--preserve-credentials'];
  let mounted = true;
  return {
    mode: 'user-namespace',
    path: dir,
    hostPath: `/proc/${pid}/root${dir}`,
    // nsenter --mount starts in the namespace's root: give it the working directory.
    wrap: (argv, cwd) => [...prefix, `--wd=${cwd}`, ...argv],
    resize: async (next) => void (await run(prefix[0]!, [...prefix.slice(1), 'mount', '-o', `remount,size=${next}`, dir])),
    unmount: async () => {
      if (!mounted) return;
      mounted = false;
      // The mount lives only in the namespace: it goes with its last process.
      const gone = new Promise<void>((resolve) => (holder.exitCode !== null || holder.signalCode !== null ? resolve() : holder.once('exit', () => resolve())));
      holder.kill('SIGTERM');
      await gone;
    },
  };
}
