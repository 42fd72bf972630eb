import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';
import { readEnvSettings } from '../config/env-settings.js';
import { watchSchedule } from './watch-policy.js';

/** AQE_SYNC_INTERVAL as the entry reads it. */
const interval = (value: string) => readEnvSettings({ AQE_SYNC_INTERVAL: value }).value.syncIntervalMs;

describe('watch schedule', () => {
  it('reads 30s, 15m, 1h, 500ms and plain numbers of seconds', () => {
    expect(['30s', '15m', '1h', '500ms', '90', '1.5m', ' 2S '].map((v) => parseDuration(v, '--x'))).toEqual([30_000, 900_000, 3_600_000, 500, 90_000, 90_000, 2000]);
    expect(formatDuration(90_000)).toBe('1.5m');
  });

  it('rejects what is not a duration with the name of the flag and an example', () => {
    expect(() => parseDuration('soon', '--interval')).toThrow(/--interval "soon": expected a duration such as 30s, 15m, 1h or a number of seconds\nTry: aqe-upload watch/);
    expect(() => parseDuration('0.5', '--interval', { min: 1000 })).toThrow(/--interval "0.5": expected a duration of at least 1s/);
    expect(readEnvSettings({ AQE_SYNC_INTERVAL: '0.5' }).problems.map((p) => p.message)).toEqual(['AQE_SYNC_INTERVAL: "0.5" is not a duration; expected one of at least 1s such as 30s, 15m, 1h or a number of seconds']);
  });

  it('pushes on change by default, with the documented defaults', () => {
    expect(watchSchedule({}, undefined)).toEqual({
      policy: { mode: 'change', intervalMs: 0, debounceMs: 2000, maxWaitMs: 60_000, retryMinMs: 5000, retryMaxMs: 300_000 },
      pollMs: 5000,
    });
  });

  it('pushes every --interval, else every AQE_SYNC_INTERVAL; the flag wins', () => {
    expect(watchSchedule({}, interval('15m')).policy).toMatchObject({ mode: 'interval', intervalMs: 900_000 });
    expect(watchSchedule({ interval: parseDuration('1h', '--interval') }, interval('15m')).policy).toMatchObject({ mode: 'interval', intervalMs: 3_600_000 });
    expect(watchSchedule({}, interval('')).policy.mode).toBe('change');
  });

  it('never lets the longest retry delay be shorter than the first', () => {
    expect(watchSchedule({ retryMin: 10_000, retryMax: 1000 }, undefined).policy).toMatchObject({ retryMinMs: 10_000, retryMaxMs: 10_000 });
  });
});
