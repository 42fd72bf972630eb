// Noticing source changes: fs.watch on the directories holding the targets (a hint that something
// moved), and a poll every `pollMs` for platforms, file systems and files where fs.watch fails or
// misses events. Either way the targets are stat-ed and only a different size or mtime counts.

import type { FSWatcher } from 'node:fs';
import { watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { errorMessage } from '../../schema/errors.js';
import { changedTargets, targetSignature, watchDirectories } from './watch-targets.js';

export interface SourceWatcherOptions {
  /** The current targets (asked again at every look, so new sources are picked up). */
  targets: () => Promise<string[]>;
  /** Poll period (the fallback). */
  pollMs: number;
  /** Quiet time after an fs event before looking (coalesces the bursts a commit makes). Default 50 ms. */
  settleMs?: number;
  /** Targets that changed since the previous look. */
  onChange: (paths: string[]) => void;
  /** Something could not be watched or looked at (the poll carries on). */
  onProblem?: (message: string) => void;
}

export interface SourceWatcher {
  /** Directories fs.watch currently watches (the rest are only polled). */
  watchedDirectories(): string[];
  /** Stops watching and polling; resolves when a look in progress is done. */
  close(): Promise<void>;
}

/**
 * Starts watching; the first look (the baseline) is done when this resolves.
 * @example const w = await startSourceWatcher({ targets: () => watchTargets(config), pollMs: 5000, onChange: (p) => … }); … await w.close();
 */
export async function startSourceWatcher(options: SourceWatcherOptions): Promise<SourceWatcher> {
  const settleMs = options.settleMs ?? 50;
  const watchers = new Map<string, FSWatcher>();
  const reported = new Set<string>();
  // directory → names of targets in it; a directory that is itself a target (a JSON folder) takes any name
  let relevant = new Map<string, Set<string> | 'any'>();
  let baseline = new Map<string, string>();
  let closed = false;
  let looking: Promise<void> | null = null;
  let lookAgain = false;
  let settleTimer: NodeJS.Timeout | null = null;

  const problem = (key: string, message: string) => {
    if (reported.has(key)) return;
    reported.add(key);
    options.onProblem?.(message);
  };

  const syncWatchers = (targets: readonly string[]) => {
    const next = new Map<string, Set<string> | 'any'>();
    for (const t of targets) {
      const dir = dirname(t);
      const names = next.get(dir);
      if (names !== 'any') next.set(dir, (names ?? new Set<string>()).add(basename(t)));
    }
    for (const t of targets) if (next.has(t)) next.set(t, 'any');
    relevant = next;
    const dirs = new Set(watchDirectories(targets));
    for (const [dir, w] of watchers) {
      if (!dirs.has(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: true }, (_event, filename) => onEvent(dir, filename));
        w.on('error', (err) => {
          // e.g. the directory was removed: drop it; the next look watches it again if it is back
          w.close();
          if (watchers.get(dir) === w) watchers.delete(dir);
          problem(`error:${dir}`, `watch: ${dir}: ${errorMessage(err)}; polling it instead`);
        });
        watchers.set(dir, w);
      } catch (err) {
        // ENOENT (not there yet) is what polling is for; anything else is worth one line
        if ((err as { code?: string }).code !== 'ENOENT') problem(`watch:${dir}`, `watch: cannot watch ${dir} (${errorMessage(err)}); polling every ${options.pollMs} ms instead`);
      }
    }
  };

  const lookOnce = async () => {
    try {
      const targets = await options.targets();
      const signature = await targetSignature(targets);
      if (closed) return;
      const changed = changedTargets(baseline, signature);
      baseline = signature;
      syncWatchers(targets);
      if (changed.length > 0) options.onChange(changed);
    } catch (err) {
      problem(`look:${errorMessage(err)}`, `watch: cannot look at the sources (${errorMessage(err)}); trying again in ${options.pollMs} ms`);
    }
  };

  // Looks never overlap; a request during a look makes one more look after it.
  const look = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (looking !== null) {
      lookAgain = true;
      return looking;
    }
    looking = (async () => {
      do {
        lookAgain = false;
        await lookOnce();
      } while (lookAgain && !closed);
      looking = null;
    })();
    return looking;
  };

  const onEvent = (dir: string, filename: string | Buffer | null) => {
    if (closed) return;
    const names = relevant.get(dir);
    const name = filename === null ? null : String(filename);
    if (name !== null && names !== 'any' && names?.has(name) !== true) return; // -shm, temp files, unrelated neighbours
    if (settleTimer !== null) return;
    settleTimer = setTimeout(() => {
      settleTimer = null;
      void look();
    }, settleMs);
  };

  // The baseline: what is there now is what the start push captures.
  const targets = await options.targets().catch((err: unknown) => {
    problem(`look:${errorMessage(err)}`, `watch: cannot look at the sources (${errorMessage(err)})`);
    return [] as string[];
  });
  baseline = await targetSignature(targets);
  syncWatchers(targets);
  const poll = setInterval(() => void look(), options.pollMs);

  return {
    watchedDirectories: () => [...watchers.keys()].sort(),
    async close() {
      closed = true;
      clearInterval(poll);
      if (settleTimer !== null) clearTimeout(settleTimer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
      await looking;
    },
  };
}
