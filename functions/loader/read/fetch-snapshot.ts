// The FETCH stage of a load: the manifest's bytes and identity, its checks against the key it
// arrived under, the store's clock and the load limits, and every blob downloaded, gunzipped and
// verified (sha256, size) into a scratch folder, a transient download failure retried within the
// delivery. Nothing here writes to the database; every refusal is a terminal AppError.

import { join } from 'node:path';
import { AppError, isAppError } from '../../../schema/errors.js';
import { type CapturedSource, type Manifest, manifestSha256, parseManifest } from '../../../schema/snapshot/manifest.js';
import type { BlobStore } from '../../storage/blob-store.js';
import { type LoadLimits, snapshotLimitProblem } from '../policy/load-limits.js';
import { claimedTimeProblem, futureBound, orderTime } from '../policy/snapshot-clock.js';
import { assembleSourceFile } from './assemble-source-file.js';

/** A delivered manifest before it is checked: its bytes and the sha256 that identifies the snapshot. */
export interface FetchedManifest {
  bytes: Buffer;
  manifestSha: string;
}

/** A manifest that passed its checks, with the times that order it. */
export interface CheckedManifest {
  manifest: Manifest;
  captured: CapturedSource[];
  /** The snapshot's order time: when the store created the manifest (else when the loader saw it). */
  orderAt: Date;
  /** Recorded times beyond this came from a clock that ran ahead (snapshot-clock.ts). */
  bound: Date;
}

/** One verified source file in the scratch folder. */
export interface FetchedSource {
  source: CapturedSource;
  file: string;
}

/** The manifest at `key` and its identity (a missing object is OBJECT_NOT_FOUND). */
export async function fetchManifest(store: BlobStore, key: string): Promise<FetchedManifest> {
  const bytes = await store.get(key);
  return { bytes, manifestSha: manifestSha256(bytes) };
}

/**
 * Checks a manifest against the key it arrived under (env, snapshot id), its claimed time against
 * the store's creation time of the object, and the sizes it declares against `limits`, before a
 * byte is expanded. Throws MANIFEST_INVALID, MANIFEST_ENV_MISMATCH, MANIFEST_CLOCK_SKEW or
 * SNAPSHOT_TOO_LARGE (all terminal: the snapshot is quarantined).
 */
export async function checkManifest(
  store: BlobStore,
  ref: { key: string; env: string; snapshotId: string; bytes: Uint8Array },
  clock: { now: Date; toleranceMs: number },
  limits: LoadLimits,
): Promise<CheckedManifest> {
  // Snapshots are ordered by the store's clock (when it created the manifest), never by the time
  // the manifest claims; a store time beyond the loader's own clock falls back to the load sequence.
  const bound = futureBound(clock.now, clock.toleranceMs);
  const storedAt = (await store.stat(ref.key))?.created ?? null;
  const orderAt = storedAt !== null && storedAt.getTime() <= bound.getTime() ? orderTime(storedAt, clock.now) : clock.now;
  const manifest = validateManifest(ref.bytes, ref.env, ref.snapshotId);
  const skew = claimedTimeProblem(manifest, orderAt, clock.toleranceMs);
  if (skew !== null) throw new AppError('MANIFEST_CLOCK_SKEW', skew, { details: { createdAt: manifest.createdAt, storedAt: orderAt.toISOString(), toleranceMs: clock.toleranceMs } });
  const captured = manifest.sources.filter((s): s is CapturedSource => s.status === 'captured');
  const tooLarge = snapshotLimitProblem(captured, limits);
  if (tooLarge !== null) throw new AppError('SNAPSHOT_TOO_LARGE', tooLarge, { details: { limits } });
  return { manifest, captured, orderAt, bound };
}

/** Parses and checks a manifest against the key it arrived under. Throws MANIFEST_* AppErrors. */
export function validateManifest(bytes: Uint8Array, env: string, snapshotId: string): Manifest {
  const parsed = parseManifest(bytes);
  if (!parsed.ok) {
    throw new AppError('MANIFEST_INVALID', `manifest does not match the manifest schema (format version 1):\n  ${parsed.issues.slice(0, 20).join('\n  ')}`, {
      details: { issues: parsed.issues },
    });
  }
  const m = parsed.manifest;
  if (m.env !== env) {
    throw new AppError(
      'MANIFEST_ENV_MISMATCH',
      `manifest.env is "${m.env}" but it was uploaded under snapshots/${env}/: one environment's snapshot may not write another's rows. Push it with --env ${m.env}.`,
    );
  }
  if (m.snapshotId !== snapshotId) {
    throw new AppError('MANIFEST_INVALID', `manifest.snapshotId is "${m.snapshotId}" but its key names snapshot "${snapshotId}"`);
  }
  return m;
}

/**
 * Downloads every captured source's blob into `scratch`, verified, before anything is written:
 * a checksum, gzip or missing-object problem is terminal (quarantine), a network one transient.
 */
export async function fetchSources(
  store: BlobStore,
  captured: readonly CapturedSource[],
  scratch: string,
  onProgress?: (done: number, total: number) => void,
): Promise<FetchedSource[]> {
  const files: FetchedSource[] = [];
  for (const [i, source] of captured.entries()) {
    const file = join(scratch, `${i}-${source.sha256.slice(0, 16)}`);
    onProgress?.(i, captured.length);
    await downloadBlob(store, source, file);
    files.push({ source, file });
  }
  return files;
}

const BLOB_ATTEMPTS = 3;

/**
 * Downloads, decompresses and verifies one source's blobs (its chunks) into `file`. A download cut mid-transfer (a transient
 * storage error) is retried here, a few times with a short backoff, instead of failing the
 * whole delivery; a blob that is really corrupt fails at once (its error is not transient).
 */
async function downloadBlob(store: BlobStore, source: CapturedSource, file: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await assembleSourceFile(store, source, file);
      return;
    } catch (err) {
      // a content problem (checksum, corrupt gzip, missing object) is final; a network one is not
      if ((isAppError(err) && !err.transient) || attempt >= BLOB_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 200 * 2 ** (attempt - 1)));
    }
  }
}
