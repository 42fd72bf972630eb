// Reads a JSON snapshot file (claude-flow store / daemon / metrics, ruvector intelligence, redb
// sidecar, any other JSON): strict parse, then the collections of its format's mapping.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { AppError, errorMessage } from '../../../schema/errors.js';
import type { SourceFormat } from '../../../schema/sources/catalogue.js';
import { parseJsonDocument } from '../../../schema/sources/mappings/json-document.js';
import type { JsonCollection } from '../../../schema/sources/mappings/json-mappings.js';
import { mapJsonDocument } from '../../../schema/sources/mappings/json-mappings.js';
import type { MapContext } from '../../../schema/sources/mappings/map-context.js';
import { mapContext } from '../../../schema/sources/mappings/map-context.js';
import type { SourceReadResult } from './source-read-result.js';
import { sourceReadResult } from './source-read-result.js';

/** A JSON file's collection name: its base name without `.json` (`system-metrics`). */
export function jsonCollectionName(path: string): string {
  return basename(path).replace(/\.json$/i, '');
}

/**
 * Parses the file now (so a hostile file fails here, naming `label`) and returns its collections.
 * A directory (a `json-dir` source materialised as a folder) is read file by file (`*.json`, sorted).
 */
export function readJsonSource(init: { sourceId: string; label: string; file: string; format: SourceFormat; ctx: MapContext }): SourceReadResult {
  const { label, file, format, ctx } = init;
  let collections: JsonCollection[];
  if (isDirectory(file, label)) {
    collections = readdirSync(file)
      .filter((n) => n.toLowerCase().endsWith('.json'))
      .sort()
      .flatMap((n) => {
        const fileCtx = mapContext(`${label}/${n}`, { warnings: ctx.warnings, maxValueBytes: ctx.maxValueBytes, maxJsonDepth: ctx.maxJsonDepth });
        return mapJsonDocument(format, parseJsonDocument(readBytes(join(file, n), fileCtx.file), fileCtx), fileCtx, jsonCollectionName(n));
      });
  } else {
    collections = mapJsonDocument(format, parseJsonDocument(readBytes(file, label), ctx), ctx, jsonCollectionName(label));
  }
  return sourceReadResult({
    sourceId: init.sourceId,
    path: label,
    warnings: ctx.warnings,
    parts: collections.map((c) => ({ sourceTable: c.sourceTable, targetTable: c.target, mapping: `${format}/${c.target}`, read: () => c.rows() })),
  });
}

function isDirectory(file: string, label: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch (err) {
    throw new AppError('SOURCE_UNREADABLE', `${label}: cannot read the file (${errorMessage(err)}). Check that it exists and is readable.`, { cause: err });
  }
}

function readBytes(file: string, label: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new AppError('SOURCE_UNREADABLE', `${label}: cannot read the file (${errorMessage(err)}). Check that it exists and is readable.`, { cause: err });
  }
}
