// Scratch folders under the OS temp dir (snapshot copies, downloaded blobs, redb copies), named
// `aqe-<kind>-<pid>-XXXXXX`. Each is removed by the code that made it; a process killed with
// SIGKILL cannot, and a 1 GB workspace left 1 GB behind per kill. So making a scratch folder first
// removes the ones whose process is gone: same user, owning pid no longer running, untouched for
// an hour (the age guards against a pid seen from another PID namespace sharing the temp dir).
import { mkdtempSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type ScratchKind = 'upload' | 'load' | 'redb';

const STALE_NAME = /^aqe-(?:upload|load|redb)-(\d+)-/;
/** Default: a scratch folder untouched for this long, whose process is gone, is removed. */
export const STALE_SCRATCH_AGE_MS = 60 * 60 * 1000;

/** Parents already swept by this process. */
const swept = new Set<string>();

function prefix(kind: ScratchKind): string {
  return `aqe-${kind}-${process.pid}-`;
}

/** true when no process with this pid runs (EPERM: it runs, as another user). */
function processGone(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function isStale(name: string, st: { uid: number; mtimeMs: number; isDirectory(): boolean }, now: number, minAgeMs: number): boolean {
  const m = STALE_NAME.exec(name);
  if (!m || !st.isDirectory()) return false;
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) return false;
  return now - st.mtimeMs >= minAgeMs && processGone(Number(m[1]));
}

/**
 * Removes scratch folders left in `parent` by processes that no longer run. Best effort: a folder
 * that cannot be read or removed is skipped. Returns the names removed.
 */
export async function sweepStaleScratch(parent = tmpdir(), options: { minAgeMs?: number; now?: number } = {}): Promise<string[]> {
  const minAgeMs = options.minAgeMs ?? STALE_SCRATCH_AGE_MS;
  const now = options.now ?? Date.now();
  let names: string[];
  try {
    names = (await readdir(parent)).filter((n) => STALE_NAME.test(n));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    try {
      const path = join(parent, name);
      if (!isStale(name, await stat(path), now, minAgeMs)) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

/**
 * A fresh scratch folder `aqe-<kind>-<pid>-XXXXXX` under `parent` (default: the OS temp dir),
 * after sweeping the stale ones. The caller removes it.
 *
 * @example
 * const dir = await makeScratchDir('load');
 * try { ... } finally { await rm(dir, { recursive: true, force: true }); }
 */
export async function makeScratchDir(kind: ScratchKind, parent = tmpdir()): Promise<string> {
  // once per parent per process: a push makes several scratch folders, the dead stay dead
  if (!swept.has(parent)) {
    swept.add(parent);
    await sweepStaleScratch(parent);
  }
  return mkdtemp(join(parent, prefix(kind)));
}

/** Synchronous {@link makeScratchDir} (no sweep: the async one runs at the start of every push and load). */
export function makeScratchDirSync(kind: ScratchKind, parent = tmpdir()): string {
  return mkdtempSync(join(parent, prefix(kind)));
}

