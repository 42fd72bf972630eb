// Reads a legacy @ruvector/core VectorDb file (redb, NOT SQLite) into `source_vectors`: the redb
// B-trees are parsed directly (redb-file.ts), so every vector is enumerated by key, completely and
// in the same order on every read. A file that cannot be parsed to the end yields what it gave and
// an incomplete read (a warning; no row is ever marked missing because of it).

import { closeSync, openSync, readSync } from 'node:fs';
import { AppError, errorMessage } from '../../../schema/errors.js';
import type { MapContext } from '../../../schema/sources/mappings/map-context.js';
import { RowBuilder } from '../../../schema/sources/mappings/row-builder.js';
import { contentHash } from '../../../schema/sources/mappings/row-identity.js';
import type { TargetRow } from '../../../schema/tables/target-tables.js';
import { decodeBincodeF32Vec, REDB_MAGIC, RedbFile } from './redb-file.js';
import type { SourceReadResult } from './source-read-result.js';
import { sourceReadResult } from './source-read-result.js';

const CONFIG_MARKER = Buffer.from('__ruvector_db_config__', 'latin1');
const CONFIG_KEY = '__ruvector_db_config__';
const SOURCE_TABLE = 'vectors';
/** Widest vector accepted (OpenAI's widest is 3,072). */
export const MAX_REDB_DIMENSIONS = 65_536;

/** Kept for callers that still pass extraction options (the binding is no longer used to read). */
export interface RedbExtractOptions {
  idleTimeoutMs?: number;
  corePath?: string;
}

/** The options the binding stored in the file (`config` table), when found. */
export interface RedbConfig {
  dimensions: number;
  distance_metric?: string;
  hnsw_config?: unknown;
  [k: string]: unknown;
}

/** Finds the JSON config the binding writes into the redb file (`__ruvector_db_config__{…}`), by scanning bytes. */
export function findRedbConfig(bytes: Buffer): RedbConfig | null {
  let at = bytes.indexOf(CONFIG_MARKER);
  while (at >= 0) {
    const start = at + CONFIG_MARKER.length;
    if (bytes[start] === 0x7b) {
      let depth = 0;
      let inString = false;
      for (let i = start; i < Math.min(bytes.length, start + 65_536); i++) {
        const c = bytes[i];
        if (inString) {
          if (c === 0x5c) i++;
          else if (c === 0x22) inString = false;
        } else if (c === 0x22) inString = true;
        else if (c === 0x7b) depth++;
        else if (c === 0x7d && --depth === 0) {
          try {
            const cfg = JSON.parse(bytes.subarray(start, i + 1).toString('utf8')) as RedbConfig;
            if (Number.isInteger(cfg.dimensions) && cfg.dimensions > 0) return cfg;
          } catch {
            // not this occurrence
          }
          break;
        }
      }
    }
    at = bytes.indexOf(CONFIG_MARKER, at + 1);
  }
  return null;
}

/**
 * Vectors and metadata of a redb VectorDb file. Throws SOURCE_CORRUPT when the file is not a redb
 * file at all; when it is one but cannot be opened or read, the part yields no rows and a
 * `source` warning records why (the blob stays archived as is).
 */
export function readRedbSource(init: { sourceId: string; label: string; file: string; ctx: MapContext; extract?: RedbExtractOptions }): SourceReadResult {
  const { label, file, ctx } = init;
  const head = Buffer.alloc(REDB_MAGIC.length);
  let fd: number | undefined;
  let n = 0;
  try {
    fd = openSync(file, 'r');
    n = readSync(fd, head, 0, head.length, 0);
  } catch (err) {
    throw new AppError('SOURCE_UNREADABLE', `${label}: cannot read the file (${errorMessage(err)}). Check that it exists and is readable.`, { cause: err });
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  if (n < head.length || !head.equals(REDB_MAGIC)) {
    throw new AppError('SOURCE_CORRUPT', `${label}: expected a @ruvector/core VectorDb (redb) file, got a file without the redb header. Check the source path; restore the file, then push again.`, {
      details: { file: label },
    });
  }
  let complete = false;
  return sourceReadResult({
    sourceId: init.sourceId,
    path: label,
    warnings: ctx.warnings,
    parts: [
      {
        sourceTable: SOURCE_TABLE,
        targetTable: 'source_vectors',
        mapping: 'ruvector-redb/source_vectors',
        read: () => {
          complete = false;
          return (function* () {
            complete = yield* readVectors(file, label, ctx);
          })();
        },
        complete: () => complete,
      },
    ],
  });
}

/**
 * The vectors of a redb VectorDb file (tables `vectors`: id → bincode Vec<f32>, `metadata`:
 * id → JSON text, `config`: the binding's options), in key order. Returns whether every vector
 * was read (false after a structural problem or a vector that cannot be decoded: both warned).
 */
function* readVectors(file: string, label: string, ctx: MapContext): Generator<TargetRow, boolean> {
  const why = (reason: string) => ctx.warnings.add('source', SOURCE_TABLE, undefined, 1, `${label}: incomplete read (what was read is kept, no vector is marked missing): ${reason}`);
  let redb: RedbFile;
  try {
    redb = RedbFile.open(file);
  } catch (err) {
    why(`not a readable redb 2.x file (${errorMessage(err)})`);
    return false;
  }
  try {
    const tables = redb.tables();
    if (!tables.has(SOURCE_TABLE)) {
      why('the file has no "vectors" table (not a @ruvector/core VectorDb)');
      return false;
    }
    let config: RedbConfig | null = null;
    if (tables.has('config')) {
      for (const [k, v] of redb.entries('config')) {
        if (k.toString('utf8') !== CONFIG_KEY) continue;
        try {
          config = JSON.parse(v.toString('utf8')) as RedbConfig;
        } catch {
          config = null;
        }
      }
    }
    const dim = config && Number.isInteger(config.dimensions) && config.dimensions > 0 && config.dimensions <= MAX_REDB_DIMENSIONS ? config.dimensions : null;
    const distanceMetric = typeof config?.distance_metric === 'string' ? config.distance_metric : null;
    const metadata = new Map<string, string>();
    if (tables.has('metadata')) for (const [k, v] of redb.entries('metadata')) metadata.set(k.toString('utf8'), v.toString('utf8'));
    let ok = true;
    for (const [k, v] of redb.entries(SOURCE_TABLE)) {
      const id = k.toString('utf8');
      const vector = decodeBincodeF32Vec(v);
      if (!vector || (dim !== null && vector.length !== dim) || vector.some((x) => !Number.isFinite(x))) {
        ok = false;
        ctx.warnings.add('source', SOURCE_TABLE, undefined, 1, `${label}: incomplete read (what was read is kept, no vector is marked missing): vector ${JSON.stringify(id)} is not ${dim ?? 'a whole number of'} finite Float32 values`);
        continue;
      }
      const meta = metadata.get(id) ?? null;
      const b = new RowBuilder(ctx, 'source_vectors', SOURCE_TABLE, `${SOURCE_TABLE}:${id}`);
      b.set('owner_key', 'id', id);
      b.set('dimension', 'dimensions', vector.length);
      b.set('vector', 'vector', vector, { dim: vector.length });
      if (meta !== null) b.set('metadata', 'metadata', meta, { jsonText: true });
      if (distanceMetric) b.extra('distance_metric', distanceMetric);
      // hash of the parsed metadata (contentHash sorts keys): the same whatever the key order
      yield b.build(contentHash({ id, vector, metadata: parseJsonOrText(meta) }));
    }
    return ok;
  } catch (err) {
    if (err instanceof AppError) throw err;
    why(errorMessage(err));
    return false;
  } finally {
    redb.close();
  }
}

function parseJsonOrText(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
