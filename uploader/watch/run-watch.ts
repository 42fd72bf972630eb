// The I/O shell of `aqe-upload watch`: feeds the scheduler (watch-scheduler.ts) with source changes,
// timer wake-ups and push outcomes, runs the pushes it asks for, and stops cleanly on abort
// (the push in flight finishes, nothing new starts, watchers and timers are closed).

import type { PushAndLoadResult } from '../local/push-and-load.js';
import type { WatchReport } from './watch-report.js';
import { failureReport, successReport } from './watch-report.js';
import type { PushReason, SchedulerEvent, SchedulerState, WatchPolicy } from './watch-scheduler.js';
import { initialSchedulerState, stepScheduler, wakeAt } from './watch-scheduler.js';
import type { SourceWatcher } from './source-watcher.js';
import { startSourceWatcher } from './source-watcher.js';

export interface RunWatchOptions {
  policy: WatchPolicy;
  /** Poll period of the source watcher (change mode). */
  pollMs: number;
  /** The paths to watch (change mode; see watchTargets). */
  targets: () => Promise<string[]>;
  /** One push (+ local load). Throws when the push fails. */
  push: (reason: PushReason) => Promise<PushAndLoadResult>;
  /** Called once per push, in order. */
  onReport: (report: WatchReport) => void;
  /** Non-fatal trouble (a directory that cannot be watched…), one message each. */
  onProblem?: (message: string) => void;
  /** Abort to stop: the push in flight finishes first. */
  signal: AbortSignal;
  /** Milliseconds clock (default Date.now). */
  now?: () => number;
}

export interface WatchSummary {
  pushes: number;
  failures: number;
}

/**
 * Watches and pushes until `signal` aborts; resolves once everything is closed.
 * @example const stop = new AbortController(); await runWatch({ policy, pollMs: 5000, targets, push, onReport, signal: stop.signal })
 */
export async function runWatch(options: RunWatchOptions): Promise<WatchSummary> {
  const { policy, signal } = options;
  const now = options.now ?? Date.now;
  let state: SchedulerState = initialSchedulerState();
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> | null = null;
  const summary: WatchSummary = { pushes: 0, failures: 0 };
  // Paths seen changing since the last push started: what the next push is for.
  let seen = new Set<string>();

  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const arm = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    const at = wakeAt(state, policy);
    if (at === null) return;
    // setTimeout takes at most ~24.8 days; a far wake-up is simply re-armed by the next tick
    timer = setTimeout(() => dispatch({ type: 'tick', at: now() }), Math.min(Math.max(0, at - now()), 2 ** 31 - 1));
  };

  const dispatch = (event: SchedulerEvent) => {
    const step = stepScheduler(state, event, policy);
    state = step.state;
    if (step.push !== null) {
      const triggers = [...seen].sort();
      seen = new Set();
      inFlight = runOne(step.push, triggers);
    }
    if (state.stopping && state.running === null) finish();
    else arm();
  };

  const runOne = async (reason: PushReason, triggers: string[]): Promise<void> => {
    const started = now();
    const at = new Date(started);
    let ok = true;
    let report: WatchReport;
    try {
      report = successReport(await options.push(reason), reason, at, now() - started, triggers);
    } catch (err) {
      ok = false;
      report = failureReport(err, reason, at, now() - started, triggers, null);
      // the retry is for these changes too
      for (const t of triggers) seen.add(t);
    }
    summary.pushes++;
    if (!ok) summary.failures++;
    dispatch({ type: 'push-finished', at: now(), ok });
    if (!ok && !state.stopping && state.retryAt !== null) report.retryInMs = Math.max(0, state.retryAt - now());
    options.onReport(report);
  };

  let watcher: SourceWatcher | null = null;
  if (policy.mode === 'change') {
    watcher = await startSourceWatcher({
      targets: options.targets,
      pollMs: options.pollMs,
      onChange: (paths) => {
        for (const p of paths) seen.add(p);
        dispatch({ type: 'change', at: now() });
      },
      ...(options.onProblem ? { onProblem: options.onProblem } : {}),
    });
  }

  const stop = () => dispatch({ type: 'stop', at: now() });
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  if (!state.stopping) dispatch({ type: 'tick', at: now() });

  try {
    await finished;
    await inFlight;
  } finally {
    signal.removeEventListener('abort', stop);
    if (timer !== null) clearTimeout(timer);
    await watcher?.close();
  }
  return summary;
}
