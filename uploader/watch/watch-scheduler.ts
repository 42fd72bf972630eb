// When `aqe-upload watch` pushes: a pure state machine over plain timestamps (no timers, no I/O).
// Changes are debounced (a burst → one push after `debounceMs` of quiet, at the latest `maxWaitMs`
// after its first change, so a writer that never pauses is still pushed), or pushes happen every
// `intervalMs`. A failed push is retried with capped exponential backoff, reset by a success.
// One push at a time; changes seen during a push lead to one more push after it.

/** How the watch schedules pushes (all durations in milliseconds). */
export interface WatchPolicy {
  /** `change`: push after sources change; `interval`: push every `intervalMs` whatever changed. */
  mode: 'change' | 'interval';
  debounceMs: number;
  /** Longest wait after the first change of a burst that never goes quiet. */
  maxWaitMs: number;
  intervalMs: number;
  /** First retry delay after a failure; doubled per further failure up to `retryMaxMs`. */
  retryMinMs: number;
  retryMaxMs: number;
}

/** Why a push ran: the first one at start, after changes, on the interval, or a retry after a failure. */
export type PushReason = 'start' | 'change' | 'interval' | 'retry';

export interface SchedulerState {
  /** The push in flight, or null. */
  readonly running: { readonly reason: PushReason; readonly startedAt: number } | null;
  /** The start push is still to run. */
  readonly startPending: boolean;
  /** First and last change not yet covered by a push (change mode), or null. */
  readonly changes: { readonly first: number; readonly last: number } | null;
  /** Failed pushes in a row. */
  readonly failures: number;
  /** When the next retry is due (after a failure), or null. */
  readonly retryAt: number | null;
  /** When the next periodic push is due (interval mode), or null. */
  readonly nextIntervalAt: number | null;
  /** Stop asked: no new push starts. */
  readonly stopping: boolean;
}

export type SchedulerEvent =
  | { type: 'change'; at: number }
  /** Time passed (the shell wakes at `wakeAt`; extra ticks are harmless). */
  | { type: 'tick'; at: number }
  | { type: 'push-finished'; at: number; ok: boolean }
  | { type: 'stop'; at: number };

export interface SchedulerStep {
  state: SchedulerState;
  /** Start a push now, for this reason (the state already counts it as running). */
  push: PushReason | null;
}

/** The state at start: the start push is due at once. */
export function initialSchedulerState(): SchedulerState {
  return { running: null, startPending: true, changes: null, failures: 0, retryAt: null, nextIntervalAt: null, stopping: false };
}

/** The state after `event`, and whether a push starts now. */
export function stepScheduler(state: SchedulerState, event: SchedulerEvent, policy: WatchPolicy): SchedulerStep {
  switch (event.type) {
    case 'change': {
      if (policy.mode === 'interval' || state.stopping) return { state, push: null };
      const changes = { first: state.changes?.first ?? event.at, last: event.at };
      return startIfDue({ ...state, changes }, event.at, policy);
    }
    case 'tick':
      return startIfDue(state, event.at, policy);
    case 'push-finished': {
      if (state.running === null) return { state, push: null };
      const { startedAt } = state.running;
      const next: SchedulerState = event.ok
        ? {
            ...state,
            running: null,
            failures: 0,
            retryAt: null,
            // Regular cadence from the start of the push; right away if the push outlasted the period.
            nextIntervalAt: policy.mode === 'interval' ? Math.max(startedAt + policy.intervalMs, event.at) : null,
          }
        : { ...state, running: null, failures: state.failures + 1, retryAt: event.at + retryDelay(state.failures + 1, policy) };
      return startIfDue(next, event.at, policy);
    }
    case 'stop':
      return { state: { ...state, stopping: true }, push: null };
  }
}

/** When the shell should tick next, or null when nothing is due (idle, running or stopping). */
export function wakeAt(state: SchedulerState, policy: WatchPolicy): number | null {
  return due(state, policy)?.at ?? null;
}

/**
 * Delay before retry number `failures` (1 = the first retry): retryMin × 2^(failures − 1), capped.
 * @example retryDelay(3, { retryMinMs: 1000, retryMaxMs: 60_000 }) // 4000
 */
export function retryDelay(failures: number, policy: Pick<WatchPolicy, 'retryMinMs' | 'retryMaxMs'>): number {
  const exp = Math.min(Math.max(failures - 1, 0), 40);
  return Math.min(policy.retryMinMs * 2 ** exp, policy.retryMaxMs);
}

function due(state: SchedulerState, policy: WatchPolicy): { at: number; reason: PushReason } | null {
  if (state.running !== null || state.stopping) return null;
  // A failure pauses everything until its retry: the retry covers the changes seen meanwhile.
  if (state.retryAt !== null) return { at: state.retryAt, reason: 'retry' };
  if (state.startPending) return { at: Number.NEGATIVE_INFINITY, reason: 'start' };
  if (policy.mode === 'interval') return state.nextIntervalAt === null ? null : { at: state.nextIntervalAt, reason: 'interval' };
  if (state.changes === null) return null;
  return { at: Math.min(state.changes.last + policy.debounceMs, state.changes.first + policy.maxWaitMs), reason: 'change' };
}

function startIfDue(state: SchedulerState, now: number, policy: WatchPolicy): SchedulerStep {
  const d = due(state, policy);
  if (d === null || d.at > now) return { state, push: null };
  // The push captures every source from now on: the changes seen so far are covered by it.
  return {
    state: { ...state, running: { reason: d.reason, startedAt: now }, startPending: false, changes: null, retryAt: null },
    push: d.reason,
  };
}
