// A one-line progress display on stderr, only on a TTY (never with --json or --quiet): redrawn in
// place at most ~10 times a second, erased when done. With a total it shows the count, the
// percentage and an ETA from the rate so far.

import type { Writable } from 'node:stream';

export interface Progress {
  /** Free text (a phase without a count). */
  update(text: string): void;
  /** `label: done/total (pct), ETA …`; the ETA starts once some work is done. */
  step(label: string, done: number, total: number, detail?: string): void;
  done(): void;
}

/** A progress line on `stream` when `enabled`, otherwise a no-op. `now` is for tests. */
export function createProgress(stream: Writable & { columns?: number }, enabled: boolean, now: () => number = Date.now): Progress {
  if (!enabled) return { update: () => {}, step: () => {}, done: () => {} };
  let last = Number.NEGATIVE_INFINITY;
  let shown = false;
  const rates = new Map<string, { started: number; firstDone: number }>();
  const draw = (text: string, force = false) => {
    const t = now();
    if (!force && t - last < 100) return;
    last = t;
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    stream.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    shown = true;
  };
  return {
    update: (text) => draw(text),
    step(label, done, total, detail) {
      let rate = rates.get(label);
      if (rate === undefined) {
        rate = { started: now(), firstDone: done };
        rates.set(label, rate);
      }
      draw(`${describeStep(label, done, total, now() - rate.started, done - rate.firstDone)}${detail ? `  ${detail}` : ''}`, done >= total);
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}

/**
 * `embedding: 120/480 (25%), ETA 12s` — the ETA from the rate of the work done since the step
 * started (none before any progress). Pure.
 */
export function describeStep(label: string, done: number, total: number, elapsedMs: number, doneSinceStart: number): string {
  const pct = total > 0 ? Math.floor((Math.min(done, total) / total) * 100) : 100;
  let eta = '';
  if (done < total && doneSinceStart > 0 && elapsedMs > 0) eta = `, ETA ${formatEta(((total - done) * elapsedMs) / doneSinceStart)}`;
  return `${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${pct}%)${eta}`;
}

/** `65000` → `1m 5s`; `4000` → `4s`. */
export function formatEta(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}
