// A one-line progress display on stderr, only on a TTY (and never in --json mode): redrawn in
// place at most ~10 times a second, erased when done.

import type { Writable } from 'node:stream';

export interface Progress {
  update(text: string): void;
  done(): void;
}

/** A progress line on `stream` when `enabled`, otherwise a no-op. */
export function createProgress(stream: Writable & { columns?: number }, enabled: boolean): Progress {
  if (!enabled) return { update: () => {}, done: () => {} };
  let last = 0;
  let shown = false;
  return {
    update(text: string) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const width = Math.max(20, (stream.columns ?? 80) - 1);
      stream.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
