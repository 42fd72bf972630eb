// The watch's schedule from its flags (durations already parsed, in ms) and the configured
// interval (AQE_SYNC_INTERVAL, read by config/env-settings.ts). Pure.

import type { WatchPolicy } from './watch-scheduler.js';

/** The flags of `aqe-upload watch` that shape the schedule, in ms (undefined: the default). */
export interface WatchFlags {
  interval?: number | undefined;
  debounce?: number | undefined;
  maxWait?: number | undefined;
  poll?: number | undefined;
  retryMin?: number | undefined;
  retryMax?: number | undefined;
}

/**
 * The schedule and poll period: --interval (else the configured interval) switches to periodic pushes.
 * @example watchSchedule({ interval: 900_000 }, undefined).policy.mode // 'interval'
 */
export function watchSchedule(flags: WatchFlags, configuredIntervalMs: number | undefined): { policy: WatchPolicy; pollMs: number } {
  const interval = flags.interval ?? configuredIntervalMs;
  const retryMinMs = flags.retryMin ?? 5000;
  return {
    policy: {
      mode: interval === undefined ? 'change' : 'interval',
      intervalMs: interval ?? 0,
      debounceMs: flags.debounce ?? 2000,
      maxWaitMs: flags.maxWait ?? 60_000,
      retryMinMs,
      retryMaxMs: Math.max(retryMinMs, flags.retryMax ?? 300_000),
    },
    pollMs: flags.poll ?? 5000,
  };
}
