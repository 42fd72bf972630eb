// Entry of the READ stage: one captured source file (already materialised locally and verified)
// → a SourceReadResult streaming TargetRows per target table. Chooses the reader by the
// manifest's format, confirming the kind from content (SQLite header, redb header, JSON parse).

import type { SourceFormat } from '../../../schema/sources/catalogue.js';
import type { MapContext } from '../../../schema/sources/mappings/map-context.js';
import { mapContext } from '../../../schema/sources/mappings/map-context.js';
import type { CapturedSource } from '../../../schema/snapshot/manifest.js';
import { readJsonSource } from './json-source.js';
import { type RedbExtractOptions, readRedbSource } from './redb-source.js';
import type { SourceReadResult } from './source-read-result.js';
import { readSqliteSource } from './sqlite-source.js';

export interface ReadOptions {
  /** Largest single value accepted (default 8 MiB). */
  maxValueBytes?: number;
  /** Deepest JSON nesting accepted (default 256). */
  maxJsonDepth?: number;
  /** How a redb file's vectors are extracted (tests shorten the child's idle timeout). */
  redb?: RedbExtractOptions;
  /** JSON files above this size are read streaming (default STREAM_JSON_ABOVE_BYTES, 32 MiB). */
  streamJsonAboveBytes?: number;
}

/**
 * Reads one captured source from its local copy `file`. Messages name `source.path`.
 *
 * @example
 * const result = readSnapshotSource(source, '/tmp/run/blobs/ab12….db');
 * try {
 *   for (const part of result.parts)
 *     for await (const row of part.rows()) stage(part.targetTable, row);
 *   report(result.tables(), result.warnings, result.skipped);
 * } finally { result.close(); }
 */
export function readSnapshotSource(source: Pick<CapturedSource, 'sourceId' | 'path' | 'format'>, file: string, options: ReadOptions = {}): SourceReadResult {
  const ctx: MapContext = mapContext(source.path, options);
  const init = { sourceId: source.sourceId, label: source.path, file, ctx };
  const format = source.format as SourceFormat;
  switch (format) {
    case 'sqlite':
      return readSqliteSource(init);
    case 'ruvector-redb':
      return readRedbSource(options.redb ? { ...init, extract: options.redb } : init);
    default:
      return readJsonSource({ ...init, format, ...(options.streamJsonAboveBytes === undefined ? {} : { streamAboveBytes: options.streamJsonAboveBytes }) });
  }
}
