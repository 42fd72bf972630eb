// How much one load may expand and read: bytes per source, bytes per snapshot, sources per
// snapshot. Checked against the sizes the manifest declares before anything is downloaded, and
// enforced while expanding (a blob is cut off as soon as it passes its declared size). Pure.
//
// The defaults fit the deployed loader function (1 GiB of memory, where /tmp is memory too): the
// verified copies of one snapshot's sources stay under 384 MiB, beside a loader that peaks at
// ~250 MB reading and merging (JSON sources are parsed streaming, one source open at a time).

import type { CapturedSource } from '../../../schema/snapshot/manifest.js';

export interface LoadLimits {
  /** Largest uncompressed size of one source file. */
  maxSourceBytes: number;
  /** Largest uncompressed size of all source files of one snapshot (the scratch space a load needs). */
  maxSnapshotBytes: number;
  /** Most source files (captured entries) one snapshot may hold. */
  maxSources: number;
}

const MIB = 1024 * 1024;

/** Limits for a loader with `memoryBytes` of memory whose scratch folder is memory too (Cloud Functions). */
export function loadLimitsForMemory(memoryBytes: number): LoadLimits {
  const scratch = Math.floor((memoryBytes * 3) / 8);
  return { maxSourceBytes: scratch, maxSnapshotBytes: scratch, maxSources: 1_000 };
}

/** The deployed loader function's limits (1 GiB of memory). */
export const DEFAULT_LOAD_LIMITS: Readonly<LoadLimits> = Object.freeze(loadLimitsForMemory(1024 * MIB));

/** Bytes in words for messages ("384 MiB"). */
export function formatBytes(n: number): string {
  if (n >= 1024 * MIB) return `${Math.round((n / (1024 * MIB)) * 10) / 10} GiB`;
  if (n >= MIB) return `${Math.round((n / MIB) * 10) / 10} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} bytes`;
}

/**
 * Why a snapshot with these captured sources is beyond `limits` (from the sizes it declares), with
 * what to do; null when it fits. Beyond the limits a snapshot is quarantined for good: loading it
 * would exhaust the loader's memory or disk on every attempt.
 */
export function snapshotLimitProblem(sources: readonly Pick<CapturedSource, 'path' | 'size'>[], limits: LoadLimits): string | null {
  const fix = 'Exclude or shrink that data in the workspace (aqe-sync.config.json "exclude"), or raise the loader\'s limits (AQE_LOAD_MAX_SOURCE_BYTES, AQE_LOAD_MAX_SNAPSHOT_BYTES, AQE_LOAD_MAX_SOURCES) together with its memory; then push again. This snapshot will not be retried.';
  if (sources.length > limits.maxSources) {
    return `the snapshot holds ${sources.length.toLocaleString('en-US')} source files, more than the ${limits.maxSources.toLocaleString('en-US')} one load may read. ${fix}`;
  }
  const big = sources.find((s) => s.size > limits.maxSourceBytes);
  if (big) return `${big.path}: ${formatBytes(big.size)} uncompressed, more than the ${formatBytes(limits.maxSourceBytes)} one source may expand to in a load. ${fix}`;
  const total = sources.reduce((a, s) => a + s.size, 0);
  if (total > limits.maxSnapshotBytes) {
    return `the snapshot's sources expand to ${formatBytes(total)}, more than the ${formatBytes(limits.maxSnapshotBytes)} one load may expand. ${fix}`;
  }
  return null;
}
