// Which clock orders snapshots, and how far a manifest's own claim may stray from it. Pure.
//
// A manifest's createdAt and its snapshot id (a ULID) come from the pushing machine's clock, which
// the loader cannot trust: one manifest dated 2099 (a laptop clock running ahead) used to freeze
// its environment. So snapshots are ordered by the time the STORE created the manifest object
// (GCS timeCreated, a local directory's file birth time), and a manifest claiming a time beyond
// that plus a tolerance is refused. Times already recorded beyond the loader's own now plus the
// tolerance (state written by an older loader that trusted the claim, or by a machine whose whole
// clock jumped forward and back) count as unknown, never as newer: nothing stays frozen.

import { decodeTime } from 'ulid';

/** A bound no real time reaches: "refuse no time" (a sentinel PostgreSQL's timestamptz reads). */
export const NO_FUTURE_BOUND = new Date('9999-12-31T23:59:59.999Z');

/** How far ahead of the store's clock a manifest may claim to be (default 5 minutes). */
export const DEFAULT_CLOCK_SKEW_TOLERANCE_MS = 5 * 60_000;

/**
 * The time this snapshot is ordered by: when the store created its manifest, or, when the store
 * cannot say, when the loader sees it (the load sequence).
 */
export function orderTime(storedAt: Date | null | undefined, loaderNow: Date): Date {
  return storedAt && Number.isFinite(storedAt.getTime()) ? storedAt : loaderNow;
}

/** Times after this (the loader's now plus the tolerance) are from a clock that ran ahead. */
export function futureBound(loaderNow: Date, toleranceMs: number): Date {
  return new Date(loaderNow.getTime() + toleranceMs);
}

/** `t` when it can be believed, null when it lies beyond `bound` (or is absent / not a time). */
export function trustedTime(t: Date | string | null | undefined, bound: Date): Date | null {
  if (t === null || t === undefined) return null;
  const d = typeof t === 'string' ? new Date(t) : t;
  if (!Number.isFinite(d.getTime()) || d.getTime() > bound.getTime()) return null;
  return d;
}

/**
 * True when a newer snapshot of the same source was already loaded: `newestLoaded` (its order
 * time) is after `orderAt` and believable. A newest time from the future never makes a snapshot late.
 */
export function isLate(newestLoaded: Date | string | null | undefined, orderAt: Date, bound: Date): boolean {
  const newest = trustedTime(newestLoaded, bound);
  return newest !== null && newest.getTime() > orderAt.getTime();
}

/** What a manifest claims about its own time. */
export interface ClaimedTime {
  createdAt: string;
  snapshotId: string;
  host?: string | undefined;
}

/**
 * Why a manifest's claimed time cannot be accepted (its createdAt or its snapshot id's time is
 * more than `toleranceMs` after the store created it), with the fix; null when it is fine. A
 * clock running behind is harmless (the store's time orders the snapshot) and is not refused.
 */
export function claimedTimeProblem(claim: ClaimedTime, storedAt: Date, toleranceMs: number): string | null {
  const limit = storedAt.getTime() + toleranceMs;
  const created = Date.parse(claim.createdAt);
  let idTime: number | null = null;
  try {
    idTime = decodeTime(claim.snapshotId);
  } catch {
    idTime = null;
  }
  const ahead: Array<[string, number]> = [];
  if (Number.isFinite(created) && created > limit) ahead.push([`manifest.createdAt ${claim.createdAt}`, created]);
  if (idTime !== null && idTime > limit) ahead.push([`the time in snapshot id ${claim.snapshotId} (${new Date(idTime).toISOString()})`, idTime]);
  if (ahead.length === 0) return null;
  const worst = Math.max(...ahead.map(([, t]) => t));
  const host = claim.host ? ` (host "${claim.host}")` : '';
  return (
    `${ahead.map(([what]) => what).join(' and ')} ${ahead.length > 1 ? 'are' : 'is'} ${describeDuration(worst - storedAt.getTime())} after the bucket stored the manifest (${storedAt.toISOString()}), ` +
    `more than the ${describeDuration(toleranceMs)} a clock may be off: the clock of the machine that pushed it${host} runs ahead. ` +
    'A snapshot dated in the future would decide what is newer for its environment, so it is refused and will not be retried. ' +
    'Fix that clock (turn on time sync: `timedatectl set-ntp true`, or the OS date & time settings), then push again.'
  );
}

/** "5 minutes", "3 days", "73 years" (the largest whole unit, for messages). */
export function describeDuration(ms: number): string {
  const units: Array<[string, number]> = [
    ['year', 365.25 * 86_400_000],
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
    ['second', 1_000],
  ];
  for (const [name, size] of units) {
    const n = Math.floor(Math.abs(ms) / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'}`;
  }
  return `${Math.round(Math.abs(ms))} ms`;
}
