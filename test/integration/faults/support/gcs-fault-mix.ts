// A random mix of Cloud Storage faults for the GCS test server (statuses drawn from 429/500/503,
// slow answers, connections dropped mid-response) that also counts requests by kind; and the
// platform's side of a load: a transient failure is retried, as Eventarc redelivers the event.

import { setTimeout as sleep } from 'node:timers/promises';
import { type LoadOutcome, loadSnapshot, type LoaderDeps } from '../../../../functions/loader/load-snapshot.js';
import { isAppError } from '../../../../schema/errors.js';
import type { FaultOptions, FaultRequest } from '../../../support/gcs-server.js';

export const RETRYABLE_STATUSES = [429, 500, 503] as const;

export interface GcsFaultMix {
  faults: FaultOptions;
  /** Requests seen so far, by kind (faulted or not). */
  requests: Record<FaultRequest['kind'], number>;
}

/**
 * Every request is subject to: a status from 429/500/503 at `statusProbability`, a `delayMs` wait
 * at `delayProbability`, a dropped connection at `dropProbability` (independent draws).
 * `forceStatus`: the first `count` requests of that kind are answered with a status for sure, so
 * a short phase is certain to meet faults; only for phases whose requests run one at a time (the
 * loader's), since the override is set per request when it arrives.
 * @example server.setFaults(randomGcsFaults({ statusProbability: 0.1, delayProbability: 0.1, delayMs: 300, dropProbability: 0.05 }).faults)
 */
export function randomGcsFaults(
  p: { statusProbability: number; delayProbability: number; delayMs: number; dropProbability: number },
  options: { forceStatus?: { kind: FaultRequest['kind']; count: number } } = {},
): GcsFaultMix {
  const requests: GcsFaultMix['requests'] = { bucket: 0, list: 0, metadata: 0, download: 0, upload: 0, 'upload-chunk': 0, delete: 0, other: 0 };
  const drawStatus = () => RETRYABLE_STATUSES[Math.floor(Math.random() * RETRYABLE_STATUSES.length)]!;
  // The server reads `code` when the fault fires: each one draws its own status.
  const randomStatus: NonNullable<FaultOptions['status']> = {
    probability: p.statusProbability,
    get code() {
      return drawStatus();
    },
  };
  let forced = 0;
  const faults: FaultOptions = {
    status: randomStatus,
    delay: { probability: p.delayProbability, ms: p.delayMs },
    drop: { probability: p.dropProbability },
    when: (req) => {
      requests[req.kind]++;
      const force = options.forceStatus !== undefined && req.kind === options.forceStatus.kind && forced < options.forceStatus.count;
      if (force) forced++;
      // A trigger with neither `next` nor `probability` always fires.
      faults.status = force ? { code: drawStatus() } : randomStatus;
      return true;
    },
  };
  return { faults, requests };
}

/**
 * Loads like the platform delivers: a transient failure (AppError with `transient`) is retried
 * after a short pause, up to `attempts` times; anything else is returned or thrown at once.
 */
export async function loadWithPlatformRetries(deps: LoaderDeps, manifestKey: string, attempts: number): Promise<{ outcome: LoadOutcome; attempts: number; transientErrors: string[] }> {
  const transientErrors: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      return { outcome: await loadSnapshot(deps, manifestKey), attempts: attempt, transientErrors };
    } catch (err) {
      if (!isAppError(err) || !err.transient || attempt >= attempts) throw err;
      transientErrors.push(err.message.split('\n')[0]!);
      await sleep(200);
    }
  }
}
