// The watch's schedule from its flags and AQE_SYNC_INTERVAL. Pure; bad values are usage errors.

import type { EnvMap } from '../config.js';
import { parseDuration } from './duration.js';
import type { WatchPolicy } from './watch-scheduler.js';

/** The flags of `aqe-upload watch` that shape the schedule (commander's camelCase names). */
export interface WatchFlags {
  interval?: string | undefined;
  debounce?: string | undefined;
  maxWait?: string | undefined;
  poll?: string | undefined;
  retryMin?: string | undefined;
  retryMax?: string | undefined;
}

/**
 * The schedule and poll period: --interval (else AQE_SYNC_INTERVAL) switches to periodic pushes.
 * @example watchSchedule({ interval: '15m' }, {}).policy.mode // 'interval'
 */
export function watchSchedule(flags: WatchFlags, env: EnvMap): { policy: WatchPolicy; pollMs: number } {
  const fromEnv = env['AQE_SYNC_INTERVAL']?.trim() || undefined;
  const interval = flags.interval ?? fromEnv;
  const retryMinMs = parseDuration(flags.retryMin ?? '5s', '--retry-min', { min: 100 });
  return {
    policy: {
      mode: interval === undefined ? 'change' : 'interval',
      intervalMs: interval === undefined ? 0 : parseDuration(interval, flags.interval !== undefined ? '--interval' : 'AQE_SYNC_INTERVAL', { min: 1000 }),
      debounceMs: parseDuration(flags.debounce ?? '2s', '--debounce'),
      maxWaitMs: parseDuration(flags.maxWait ?? '1m', '--max-wait', { min: 100 }),
      retryMinMs,
      retryMaxMs: Math.max(retryMinMs, parseDuration(flags.retryMax ?? '5m', '--retry-max', { min: 100 })),
    },
    pollMs: parseDuration(flags.poll ?? '5s', '--poll', { min: 100 }),
  };
}
