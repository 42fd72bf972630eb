// Reads a JSON snapshot file (claude-flow store / daemon / metrics, ruvector intelligence, redb
// sidecar, any other JSON): strict parse, then the collections of its format's mapping.

import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
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
import { MAX_RECORD_BYTES, openStreamedJson } from './json-stream.js';

/** JSON files larger than this are read streaming (json-stream.ts); smaller ones parsed whole (faster). */
export const STREAM_JSON_ABOVE_BYTES = 32 * 1024 * 1024;

/**
 * The parsed document of one JSON file: parsed whole when small, else its top level with lazy
 * members (memory bounded whatever the size). A document that maps to ONE row (a redb sidecar, a
 * metrics file holding one object) is always parsed whole, up to the size of one record.
 */
function documentOf(file: string, ctx: MapContext, format: SourceFormat, streamAbove: number): unknown {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new AppError('SOURCE_UNREADABLE', `${ctx.file}: cannot read the file (${errorMessage(err)}). Check that it exists and is readable.`, { cause: err });
  }
  const oneRow = format === 'ruvector-redb-meta' || (format === 'claude-flow-metrics' && firstByte(file) !== 0x5b);
  if (size <= streamAbove || oneRow) {
    if (oneRow && size > MAX_RECORD_BYTES) {
      throw new AppError('VALUE_INVALID', `${ctx.file}: a ${format} file is loaded as one row, and this one has ${size} bytes, more than the ${MAX_RECORD_BYTES} one record may hold. Such a file is not what the tools write; shrink or remove it, then push again.`, { details: { file: ctx.file } });
    }
    return parseJsonDocument(readBytes(file, ctx.file), ctx);
  }
  return openStreamedJson(file, ctx).doc;
}

/** The first byte that is not whitespace or a byte-order mark (-1 for none). */
function firstByte(file: string): number {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(256);
    const n = readSync(fd, buf, 0, buf.length, 0);
    for (let i = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0; i < n; i++) if (![0x20, 0x09, 0x0a, 0x0d].includes(buf[i]!)) return buf[i]!;
    return -1;
  } finally {
    closeSync(fd);
  }
}

/** A JSON file's collection name: its base name without `.json` (`system-metrics`). */
export function jsonCollectionName(path: string): string {
  return basename(path).replace(/\.json$/i, '');
}

/**
 * Parses the file now (so a hostile file fails here, naming `label`) and returns its collections.
 * A directory (a `json-dir` source materialised as a folder) is read file by file (`*.json`, sorted).
 */
export function readJsonSource(init: { sourceId: string; label: string; file: string; format: SourceFormat; ctx: MapContext; streamAboveBytes?: number }): SourceReadResult {
  const { label, file, format, ctx } = init;
  const streamAbove = init.streamAboveBytes ?? STREAM_JSON_ABOVE_BYTES;
  let collections: JsonCollection[];
  if (isDirectory(file, label)) {
    collections = readdirSync(file)
      .filter((n) => n.toLowerCase().endsWith('.json'))
      .sort()
      .flatMap((n) => {
        const fileCtx = mapContext(`${label}/${n}`, { warnings: ctx.warnings, maxValueBytes: ctx.maxValueBytes, maxJsonDepth: ctx.maxJsonDepth });
        return mapJsonDocument(format, documentOf(join(file, n), fileCtx, format, streamAbove), fileCtx, jsonCollectionName(n));
      });
  } else {
    collections = mapJsonDocument(format, documentOf(file, ctx, format, streamAbove), ctx, jsonCollectionName(label));
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
