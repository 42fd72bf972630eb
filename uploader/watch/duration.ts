// Durations on the command line and in the environment: 30s, 15m, 1h, 500ms, or a plain number
// of seconds. Pure.

import { AppError } from '../../schema/errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * Milliseconds of a duration. `name` is the flag or variable the value came from (for the message).
 * @example parseDuration('15m', '--interval') // 900000
 * @example parseDuration('90', '--interval') // 90000 (plain numbers are seconds)
 */
export function parseDuration(value: string, name: string, options: { min?: number } = {}): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(value);
  const ms = m ? Math.round(Number(m[1]) * UNIT_MS[(m[2]?.toLowerCase() ?? 's') as keyof typeof UNIT_MS]) : NaN;
  const min = options.min ?? 0;
  if (!Number.isFinite(ms) || ms < min) {
    const expected = min > 0 ? ` of at least ${formatDuration(min)}` : '';
    throw new AppError('USAGE', `${name} ${JSON.stringify(value)}: expected a duration${expected} such as 30s, 15m, 1h or a number of seconds\nTry: aqe-upload watch --interval 15m`);
  }
  return ms;
}

/**
 * A duration for people: 250ms, 4s, 1.5m, 2h.
 * @example formatDuration(90_000) // '1.5m'
 */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${trim(ms / 1000)}s`;
  if (ms < 3_600_000) return `${trim(ms / 60_000)}m`;
  return `${trim(ms / 3_600_000)}h`;
}

function trim(n: number): string {
  return String(Math.round(n * 10) / 10);
}
