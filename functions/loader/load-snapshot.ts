// The loader: one manifest key → its snapshot merged into PostgreSQL in ONE transaction, or
// acknowledged (already loaded / not a manifest), or quarantined with nothing written.
//   fetch + validate manifest → verify every blob (sha256) into a scratch dir → migrate once →
//   BEGIN; lock env; run record; per (source, target table): stream rows → COPY → merge; state; COMMIT
//   → fill pending embeddings within the time budget (derived data, after the commit).
// Transient failures are rethrown (the platform or caller retries); terminal ones quarantine.

import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeScratchDir } from '../runtime/scratch-dir.js';
import { AppError, type ErrorCode, errorMessage, isAppError } from '../../schema/errors.js';
import { MAPPING_VERSION } from '../../schema/sources/mappings/row-identity.js';
import { searchTextFor } from '../../schema/sources/recipes.js';
import { type CapturedSource, type Manifest, manifestSha256, parseManifest } from '../../schema/snapshot/manifest.js';
import { parseManifestKey, quarantineManifestKey, quarantineReportKey } from '../../schema/snapshot/object-keys.js';
import { TARGET_TABLES, type TargetRow, targetTable } from '../../schema/tables/target-tables.js';
import type { Database, Queryable } from '../db/database.js';
import type { VectorDialect } from '../db/dialect.js';
import { migrate } from '../db/migrate.js';
import { type BackfillResult, backfillEmbeddings } from '../embed/backfill-embeddings.js';
import type { Embedder } from '../embed/embedder.js';
import { type Logger, silentLogger } from '../observability/logger.js';
import type { BlobStore } from '../storage/blob-store.js';
import { assembleSourceFile } from './read/assemble-source-file.js';
import { claimedTimeProblem, DEFAULT_CLOCK_SKEW_TOLERANCE_MS, futureBound, isLate, orderTime } from './snapshot-clock.js';
import { DEFAULT_LOAD_LIMITS, type LoadLimits, snapshotLimitProblem } from './load-limits.js';
import { readSnapshotSource } from './read/read-snapshot-source.js';
import type { RowStream, SourceReadResult } from './read/source-read-result.js';
import {
  addCounts,
  beginRun,
  emptyCounts,
  findRunByManifestSha,
  finishRun,
  lockEnvironment,
  mergeTableRows,
  recordQuarantine,
  recordRunFailure,
  type TableMergeCounts,
  totalCounts,
  updateSyncState,
} from './write/index.js';

export interface EmbeddingStage {
  /** null when no model could be loaded: rows stay pending, one warning. */
  embedder: Embedder | null;
  unavailableReason?: string;
  budgetMs: number;
}

export interface LoaderDeps {
  store: BlobStore;
  db: Database;
  log?: Logger;
  /** Omit to skip the embedding stage (rows stay pending for reconcile / `aqe-upload embed`). */
  embedding?: EmbeddingStage;
  /** Scratch directory for verified blob copies (default: the OS temp dir). */
  tmpDir?: string;
  /** The loader's clock (default: the system clock). */
  now?: () => Date;
  /**
   * How far ahead of the store's clock a manifest may claim to be, and how far ahead of the
   * loader's clock a recorded time may be before it counts as unknown (default 5 minutes).
   */
  clockSkewToleranceMs?: number;
  /** Bytes per source and per snapshot, and sources per snapshot, one load may expand (default: DEFAULT_LOAD_LIMITS). */
  limits?: Partial<LoadLimits>;
  /** Progress of the long steps (a CLI's progress line; never part of the outcome). */
  onProgress?: (p: LoadProgress) => void;
}

/** Where a load is: blobs verified, source files merged (`done` of `total`), new text embedded. */
export interface LoadProgress {
  phase: 'verify' | 'merge' | 'embed';
  done: number;
  total: number;
}

export type LoadOutcome =
  | { status: 'ignored'; manifestKey: string; reason: string }
  | { status: 'duplicate'; manifestKey: string; manifestSha: string; runId: number; previousStatus: string }
  | {
      status: 'loaded';
      manifestKey: string;
      manifestSha: string;
      runId: number;
      env: string;
      snapshotId: string;
      totals: TableMergeCounts;
      /** Counts per `<sourceId>/<target table>`. */
      tables: Record<string, TableMergeCounts>;
      warnings: string[];
      embedding: BackfillResult | null;
      durationMs: number;
    }
  | {
      status: 'quarantined';
      manifestKey: string;
      manifestSha: string | null;
      env: string;
      snapshotId: string;
      code: ErrorCode;
      reason: string;
      reportKey: string;
    };

/** Error codes that mean "this snapshot's content is bad": quarantine it, never retry. */
export const QUARANTINE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'MANIFEST_INVALID',
  'MANIFEST_ENV_MISMATCH',
  'MANIFEST_CLOCK_SKEW',
  'SNAPSHOT_TOO_LARGE',
  'CHECKSUM_MISMATCH',
  'BLOB_CORRUPT',
  'PARSE_FAILED',
  'VALUE_INVALID',
  'SOURCE_CORRUPT',
  'SOURCE_WRONG_KIND',
  'OBJECT_NOT_FOUND',
  'DB_DATA',
]);

const migrated = new WeakMap<Database, Promise<VectorDialect>>();

/** Migrates `db` once per process (the migrator itself is idempotent and locked). */
export function ensureMigrated(db: Database): Promise<VectorDialect> {
  let p = migrated.get(db);
  if (!p) {
    p = migrate(db).then((r) => r.dialect);
    p.catch(() => migrated.delete(db));
    migrated.set(db, p);
  }
  return p;
}

/**
 * Loads the snapshot whose manifest is at `manifestKey` (relative to the store's root).
 *
 * @example
 * const outcome = await loadSnapshot({ store, db, log }, 'snapshots/laptop/01J…/manifest.json');
 * if (outcome.status === 'quarantined') console.error(outcome.reason);
 */
export async function loadSnapshot(deps: LoaderDeps, manifestKey: string): Promise<LoadOutcome> {
  const log = deps.log ?? silentLogger;
  const started = performance.now();
  const parts = parseManifestKey(manifestKey);
  if (parts?.prefix !== '') {
    return { status: 'ignored', manifestKey, reason: 'not a snapshot manifest key (snapshots/<env>/<snapshotId>/manifest.json)' };
  }
  const { env, snapshotId } = parts;
  const bytes = await deps.store.get(manifestKey);
  const manifestSha = manifestSha256(bytes);
  const dialect = await ensureMigrated(deps.db);

  // A failed run is retried; a rolled-back one is re-applied when its manifest is loaded again.
  const existing = await findRunByManifestSha(deps.db, manifestSha);
  if (existing && existing.status !== 'failed' && existing.status !== 'rolled_back') {
    return { status: 'duplicate', manifestKey, manifestSha, runId: existing.id, previousStatus: existing.status };
  }

  const ctx = { manifestKey, manifestSha, env, snapshotId, bytes };
  // Snapshots are ordered by the store's clock (when it created the manifest), never by the time
  // the manifest claims; a store time beyond the loader's own clock falls back to the load sequence.
  const now = (deps.now ?? (() => new Date()))();
  const tolerance = deps.clockSkewToleranceMs ?? DEFAULT_CLOCK_SKEW_TOLERANCE_MS;
  const bound = futureBound(now, tolerance);
  const storedAt = (await deps.store.stat(manifestKey))?.created ?? null;
  const orderAt = storedAt !== null && storedAt.getTime() <= bound.getTime() ? orderTime(storedAt, now) : now;
  let manifest: Manifest;
  try {
    manifest = validateManifest(bytes, env, snapshotId);
    const skew = claimedTimeProblem(manifest, orderAt, tolerance);
    if (skew !== null) throw new AppError('MANIFEST_CLOCK_SKEW', skew, { details: { createdAt: manifest.createdAt, storedAt: orderAt.toISOString(), toleranceMs: tolerance } });
    // the sizes it declares, before a byte is expanded (each blob is then cut off past its declared size)
    const limits = { ...DEFAULT_LOAD_LIMITS, ...deps.limits };
    const tooLarge = snapshotLimitProblem(manifest.sources.filter((x): x is CapturedSource => x.status === 'captured'), limits);
    if (tooLarge !== null) throw new AppError('SNAPSHOT_TOO_LARGE', tooLarge, { details: { limits } });
  } catch (err) {
    return await quarantineOrThrow(deps, ctx, err, log);
  }

  const scratch = await makeScratchDir('load', deps.tmpDir ?? tmpdir());
  try {
    // 1. every blob verified before anything is written
    const captured = manifest.sources.filter((s): s is CapturedSource => s.status === 'captured');
    const files: { source: CapturedSource; file: string }[] = [];
    try {
      for (const [i, source] of captured.entries()) {
        const file = join(scratch, `${i}-${source.sha256.slice(0, 16)}`);
        deps.onProgress?.({ phase: 'verify', done: i, total: captured.length });
        await downloadBlob(deps.store, source, file);
        files.push({ source, file });
      }
    } catch (err) {
      return await quarantineOrThrow(deps, ctx, err, log);
    }

    // 2. one transaction for the whole snapshot
    const warnings: string[] = manifest.sources
      .filter((s) => s.status === 'failed')
      .map((s) => `${s.path}: not captured by the uploader (${s.status === 'failed' ? s.reason : ''})`);
    const tables: Record<string, TableMergeCounts> = {};
    const claimedAt = new Date(manifest.createdAt);
    let runId: number;
    try {
      runId = await deps.db.transaction(async (tx) => {
        await lockEnvironment(tx, env);
        // a concurrent loader may have finished the same manifest while we waited for the lock
        const again = await findRunByManifestSha(tx, manifestSha);
        if (again && again.status !== 'failed' && again.status !== 'rolled_back') return -again.id;
        if (again?.status === 'failed') await tx.query('DELETE FROM aqe.sync_runs WHERE id = $1 AND status = $2', [String(again.id), 'failed']);
        // the rolled-back run stays as history (its undo log refers to it); its sha steps aside for the new run
        if (again?.status === 'rolled_back') {
          await tx.query(`UPDATE aqe.sync_runs SET manifest_sha = manifest_sha || '#rolled-back-' || id WHERE id = $1 AND status = 'rolled_back'`, [String(again.id)]);
        }
        const id = await beginRun(tx, { manifestSha, env, snapshotId, manifestKey, snapshotCreatedAt: claimedAt, orderedAt: orderAt });
        // per source file: the newest snapshot loaded so far (a late, older one never decides presence)
        const seen = await sourcesSeen(tx, env);
        const before: Record<string, SourceSeen> = { ...seen };
        for (const [index, { source, file }] of files.entries()) {
          deps.onProgress?.({ phase: 'merge', done: index, total: files.length });
          const prev = seen[source.path];
          const late = isLate(prev?.snapshotAt, orderAt, bound);
          const entry = sourceEntry(captured, source.path);
          // The same file content was merged by a run that still stands, with the same mappings:
          // nothing can differ, so the rows are not read again (they all count as unchanged).
          if (!late && prev && (await unchangedSince(tx, prev, entry))) {
            seen[source.path] = { ...prev, snapshotAt: orderAt.toISOString(), stateRunId: id };
            for (const [target, n] of Object.entries(prev.tables ?? {})) {
              const key = `${source.sourceId}/${target}`;
              tables[key] = addCounts(tables[key] ?? emptyCounts(), { ...emptyCounts(), read: n, unchanged: n });
            }
            continue;
          }
          // one source open at a time: its file is read (and a hostile one fails, rolling all
          // back) only now, so memory holds one source's reader whatever the snapshot's size
          const reader = readSnapshotSource(source, file);
          try {
            const read: Record<string, number> = {};
            // the mappings changed since this file was last merged: immutable rows take the new
            // reading, and rows a table no longer feeds are marked missing there
            const remap = !late && prev !== undefined && prev.mappingVersion !== MAPPING_VERSION;
            for (const target of reader.targetTables()) {
              const table = targetTable(target);
              const feeding = reader.parts.filter((p) => p.targetTable === target);
              // asked after the rows were read: a part whose read stopped short never marks rows missing
              const full = () => feeding.filter((p) => p.complete()).map((p) => p.sourceTable);
              // a function, not a stream: the merge may read the rows again (see merge-table-rows.ts)
              const rows = () => (table.embedded ? withSearchText(reader.rows(target), target) : reader.rows(target));
              const counts = await mergeTableRows(tx, { runId: id, env, sourceId: reader.sourceId, snapshotAt: orderAt, futureBound: bound, table, rows, fullSourceTables: full, dialect, late, remap });
              const key = `${reader.sourceId}/${target}`;
              tables[key] = addCounts(tables[key] ?? emptyCounts(), counts);
              read[target] = (read[target] ?? 0) + counts.read;
            }
            if (remap) {
              for (const [target, n] of Object.entries(await markMovedRows(tx, { runId: id, env, reader }))) {
                const key = `${reader.sourceId}/${target}`;
                tables[key] = addCounts(tables[key] ?? emptyCounts(), { ...emptyCounts(), missing: n });
              }
            }
            if (!late) seen[reader.path] = { ...entry, runId: id, snapshotAt: orderAt.toISOString(), mappingVersion: MAPPING_VERSION, tables: read, stateRunId: id };
            for (const w of reader.warnings) warnings.push(formatWarning(reader.path, w));
          } finally {
            reader.close();
          }
        }
        // what this run replaced in sync_state, for a rollback (null: the entry did not exist)
        const replaced: Record<string, SourceSeen | null> = {};
        for (const [path, entry] of Object.entries(seen)) if (entry !== before[path]) replaced[path] = before[path] ?? null;
        await finishRun(tx, id, { status: 'succeeded', tables, warnings, stateBefore: { sources: replaced } });
        await updateSyncState(tx, env, { snapshotId, snapshotAt: orderAt, futureBound: bound, runId: id, success: true, sources: seen });
        return id;
      });
    } catch (err) {
      return await quarantineOrThrow(deps, ctx, err, log);
    }
    if (runId < 0) {
      return { status: 'duplicate', manifestKey, manifestSha, runId: -runId, previousStatus: 'succeeded' };
    }
    const totals = totalCounts(tables);
    log.info('snapshot loaded', {
      event: 'sync_succeeded',
      env,
      snapshotId,
      runId,
      manifestKey,
      rows: totals,
      durationMs: Math.round(performance.now() - started),
    });

    // 3. derived data after the commit: embeddings of new/changed text, within the budget
    let embedding: BackfillResult | null = null;
    if (deps.embedding) {
      deps.onProgress?.({ phase: 'embed', done: 0, total: 0 });
      embedding = await backfillEmbeddings(deps.db, dialect, {
        embedder: deps.embedding.embedder,
        budgetMs: deps.embedding.budgetMs,
        env,
        ...(deps.embedding.unavailableReason ? { unavailableReason: deps.embedding.unavailableReason } : {}),
      });
      if (embedding.warning) warnings.push(embedding.warning);
      if (embedding.pending > 0) log.notice('embeddings pending', { event: 'embeddings_pending', env, pending: embedding.pending });
    }
    return {
      status: 'loaded',
      manifestKey,
      manifestSha,
      runId,
      env,
      snapshotId,
      totals,
      tables,
      warnings,
      embedding,
      durationMs: Math.round(performance.now() - started),
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Downloads, gunzips and verifies one blob into `file`. A download cut mid-transfer (a transient
 * storage error) is retried here, a few times with a short backoff, instead of failing the
 * whole delivery; a blob that is really corrupt fails at once (its error is not transient).
 */
async function downloadBlob(store: LoaderDeps['store'], source: CapturedSource, file: string): Promise<void> {
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

const BLOB_ATTEMPTS = 3;

interface SourceSeen {
  sourceId?: string;
  sha256?: string;
  capturedAt?: string;
  /** The run that last read and merged this file's content. */
  runId?: number;
  /** Order time (the store's creation time of the manifest) of the newest snapshot that captured this file. */
  snapshotAt?: string;
  /** The run that last wrote this entry (a rollback of that run restores the entry it replaced). */
  stateRunId?: number;
  /** MAPPING_VERSION the rows were mapped with. */
  mappingVersion?: number;
  /** Rows read per target table by `runId`. */
  tables?: Record<string, number>;
}

/** true when `prev` (same sha256, same mappings) was merged by a run that still stands. */
async function unchangedSince(tx: Queryable, prev: SourceSeen, now: SourceSeen): Promise<boolean> {
  if (!prev.sha256 || prev.sha256 !== now.sha256 || prev.mappingVersion !== MAPPING_VERSION || !prev.tables || prev.runId === undefined) return false;
  const run = await tx.query<{ status: string }>('SELECT status FROM aqe.sync_runs WHERE id = $1', [String(prev.runId)]);
  return run.rows[0]?.status === 'succeeded';
}

/** sync_state.sources of `env`: per source path, the newest snapshot loaded so far. */
async function sourcesSeen(tx: Queryable, env: string): Promise<Record<string, SourceSeen>> {
  const res = await tx.query<{ sources: Record<string, SourceSeen> | null }>('SELECT sources FROM aqe.sync_state WHERE env = $1', [env]);
  return { ...(res.rows[0]?.sources ?? {}) };
}

function sourceEntry(captured: readonly CapturedSource[], path: string): SourceSeen {
  const s = captured.find((c) => c.path === path);
  return s ? { sourceId: s.sourceId, sha256: s.sha256, capturedAt: s.capturedAt } : {};
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
 * After a remap: the rows of this file's source tables that a target table holds but is no longer
 * fed by them (a table now modelled instead of landing in source_rows, say) are marked missing
 * there, with undo entries. Returns the rows marked per target table.
 */
async function markMovedRows(tx: Queryable, input: { runId: number; env: string; reader: SourceReadResult }): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const read = new Set(input.reader.parts.map((p) => p.sourceTable));
  for (const table of TARGET_TABLES) {
    const fed = new Set(input.reader.parts.filter((p) => p.targetTable === table.name).map((p) => p.sourceTable));
    const moved = [...read].filter((s) => !fed.has(s));
    if (moved.length === 0) continue;
    const res = await tx.query<{ n: number | string }>(
      `WITH m AS (
         UPDATE aqe.${table.name} t SET missing_since = now()
          WHERE t.source_env = $1 AND t.source_id = $2 AND t.source_table = ANY($3::text[]) AND t.missing_since IS NULL
         RETURNING t.source_table, t.source_key
       ), undo AS (
         INSERT INTO aqe.undo_log (run_id, table_name, source_env, source_id, source_table, source_key, op, pre_image)
         SELECT $4::bigint, $5::text, $1::text, $2::text, m.source_table, m.source_key, 'missing', NULL FROM m
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM m) AS n`,
      [input.env, input.reader.sourceId, moved, String(input.runId), table.name],
    );
    const n = Number(res.rows[0]?.n ?? 0);
    if (n > 0) out[table.name] = n;
  }
  return out;
}

function withSearchText(rows: RowStream, table: string): RowStream {
  const fill = (row: TargetRow) => {
    if (row.searchText === undefined) row.searchText = searchTextFor(table, row.values, row);
    return row;
  };
  if (Symbol.asyncIterator in rows) {
    return (async function* () {
      for await (const row of rows) yield fill(row);
    })();
  }
  return (function* () {
    for (const row of rows) yield fill(row);
  })();
}

function formatWarning(path: string, w: unknown): string {
  if (w && typeof w === 'object' && 'message' in w) return `${path}: ${String((w as { message: unknown }).message)}`;
  return `${path}: ${JSON.stringify(w)}`;
}

interface QuarantineContext {
  manifestKey: string;
  manifestSha: string;
  env: string;
  snapshotId: string;
  bytes: Uint8Array;
}

/** Terminal content errors → quarantine (copy + report in the bucket, rows in the database); others rethrown. */
async function quarantineOrThrow(deps: LoaderDeps, ctx: QuarantineContext, err: unknown, log: Logger): Promise<LoadOutcome> {
  // what goes to the bucket and the database names no path of the loader's machine
  const scrub = (text: string) => [deps.tmpDir, tmpdir()].reduce<string>((t, dir) => (dir && dir.length > 1 ? t.split(dir).join('<scratch>') : t), text);
  if (!isAppError(err) || err.transient || !QUARANTINE_CODES.has(err.code)) {
    if (isAppError(err) && !err.transient) {
      // terminal but not the snapshot's fault (e.g. a schema problem): record it, let the caller decide
      await recordRunFailure(deps.db, { ...runIdentity(ctx), status: 'failed', error: scrub(err.message) }).catch(() => undefined);
    }
    log.error('snapshot load failed', { event: 'sync_failed', env: ctx.env, snapshotId: ctx.snapshotId, manifestKey: ctx.manifestKey, error: err });
    throw err;
  }
  const reportKey = quarantineReportKey(ctx.env, ctx.snapshotId);
  const report = {
    code: err.code,
    reason: scrub(err.message),
    manifestKey: ctx.manifestKey,
    manifestSha: ctx.manifestSha,
    env: ctx.env,
    snapshotId: ctx.snapshotId,
    transient: false,
    quarantinedAt: new Date().toISOString(),
    details: err.details ?? null,
    what_to_do: 'fix the source named above and push again; this snapshot will not be retried',
  };
  await deps.store.put(quarantineManifestKey(ctx.env, ctx.snapshotId), Buffer.from(ctx.bytes), { contentType: 'application/json' });
  await deps.store.put(reportKey, Buffer.from(`${JSON.stringify(report, null, 2)}\n`), { contentType: 'application/json' });
  await recordQuarantine(deps.db, {
    env: ctx.env,
    snapshotId: ctx.snapshotId,
    manifestKey: ctx.manifestKey,
    manifestSha: ctx.manifestSha,
    code: err.code,
    reason: scrub(err.message),
    transient: false,
    report,
  });
  await recordRunFailure(deps.db, { ...runIdentity(ctx), status: 'quarantined', error: `${err.code}: ${scrub(err.message)}` });
  log.error('snapshot quarantined', { event: 'sync_quarantined', env: ctx.env, snapshotId: ctx.snapshotId, manifestKey: ctx.manifestKey, code: err.code, reason: scrub(errorMessage(err)) });
  return { status: 'quarantined', manifestKey: ctx.manifestKey, manifestSha: ctx.manifestSha, env: ctx.env, snapshotId: ctx.snapshotId, code: err.code, reason: scrub(err.message), reportKey };
}

function runIdentity(ctx: QuarantineContext) {
  return { manifestSha: ctx.manifestSha, env: ctx.env, snapshotId: ctx.snapshotId, manifestKey: ctx.manifestKey, snapshotCreatedAt: null };
}
