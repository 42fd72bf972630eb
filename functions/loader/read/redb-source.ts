// Reads a legacy @ruvector/core VectorDb file (redb, NOT SQLite) into `source_vectors`. The
// binding cannot list ids, so every vector is found by k-NN searches with k = len() (exact on a
// flat index; repeated with other query vectors when an HNSW index misses some). A private copy
// is opened in a short-lived child process: redb locks the file, the binding may write its config
// on open, has no close(), and an HNSW open reserves tens of GB of address space.

import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { makeScratchDirSync } from '../../runtime/scratch-dir.js';
import { createInterface } from 'node:readline';
import { AppError, errorMessage } from '../../../schema/errors.js';
import type { MapContext } from '../../../schema/sources/mappings/map-context.js';
import { RowBuilder } from '../../../schema/sources/mappings/row-builder.js';
import { contentHash } from '../../../schema/sources/mappings/row-identity.js';
import type { TargetRow } from '../../../schema/tables/target-tables.js';
import type { SourceReadResult } from './source-read-result.js';
import { sourceReadResult } from './source-read-result.js';

const REDB_MAGIC = Buffer.from([0x72, 0x65, 0x64, 0x62, 0x1a, 0x0a, 0xa9, 0x0d, 0x0a]);
const CONFIG_MARKER = Buffer.from('__ruvector_db_config__', 'latin1');
const SOURCE_TABLE = 'vectors';
/** Widest vector read (OpenAI's widest is 3,072): the child allocates dims-sized query vectors by the hundred. */
export const MAX_REDB_DIMENSIONS = 65_536;
/** The extraction child is stopped when it prints nothing for this long (a damaged file can make the binding spin). */
export const REDB_IDLE_TIMEOUT_MS = 120_000;

/** How the extraction child runs (tests shorten the timeout). */
export interface RedbExtractOptions {
  /** Stop the child after this long without a line of output (default REDB_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
  /** Module the child loads as @ruvector/core (default: resolved from here). */
  corePath?: string;
}

/** The options the binding stored in the file (`config` table), when found. */
export interface RedbConfig {
  dimensions: number;
  distance_metric?: string;
  hnsw_config?: unknown;
  [k: string]: unknown;
}

/** Finds the JSON config the binding writes into the redb file (`__ruvector_db_config__{…}`). */
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
  let tmp: string | undefined;
  const cleanup = () => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  };
  return sourceReadResult({
    sourceId: init.sourceId,
    path: label,
    warnings: ctx.warnings,
    parts: [
      {
        sourceTable: SOURCE_TABLE,
        targetTable: 'source_vectors',
        mapping: 'ruvector-redb/source_vectors',
        async: true,
        read: () =>
          (async function* () {
            cleanup();
            tmp = makeScratchDirSync('redb');
            const copy = join(tmp, 'vectors.db');
            copyFileSync(file, copy);
            yield* readVectors(copy, label, ctx, init.extract ?? {});
          })(),
      },
    ],
    close: cleanup,
  });
}

/**
 * Runs in a child Node process: opening an HNSW VectorDb reserves tens of GB of address space
 * (maxElements 10M), after which this process could no longer spawn children (ENOMEM), and the
 * binding has no close(). Prints NDJSON: one `{ id, vector, metadata }` per vector, then `{ total, found }`.
 */
const EXTRACT_SCRIPT = `
const [corePath, storagePath, dimsText] = process.argv.slice(1);
const dims = Number(dimsText);
const out = (obj) => new Promise((resolve) => { if (process.stdout.write(JSON.stringify(obj) + '\\n')) resolve(); else process.stdout.once('drain', resolve); });
(async () => {
  const { VectorDb } = require(corePath);
  const db = new VectorDb({ dimensions: dims, storagePath });
  const total = await db.len();
  const seen = new Set();
  const queries = [new Float32Array(dims).fill(1), new Float32Array(dims).fill(-1)];
  for (let i = 0; i < Math.min(dims, 16); i++) { const q = new Float32Array(dims); q[i] = 1; queries.push(q); }
  // The HNSW graph is rebuilt at random on every open and a search returns at most ef results:
  // keep asking from other directions (deterministic pseudo-random ones, then the opposite of
  // vectors already found) until every id is seen or the effort is spent.
  let seed = 0x9e3779b9;
  const rnd = () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 4294967296 - 0.5; };
  for (let i = 0; i < 256; i++) { const q = new Float32Array(dims); for (let j = 0; j < dims; j++) q[j] = rnd(); queries.push(q); }
  const found = [];
  for (let qi = 0; qi < queries.length + found.length; qi++) {
    if (total === 0 || seen.size >= total || qi > 4096) break;
    const q = qi < queries.length ? queries[qi] : Float32Array.from(found[qi - queries.length], (x) => -x);
    if (!q) break;
    for (const h of await db.search({ vector: q, k: total })) {
      if (seen.has(h.id)) continue;
      seen.add(h.id);
      let vector = h.vector, metadata = h.metadata;
      if (vector === undefined) { const g = await db.get(h.id); vector = g && g.vector; metadata = g && g.metadata; }
      if (vector && found.length < 1024) found.push(vector);
      await out({ id: h.id, vector: vector ? Array.from(vector) : null, metadata: metadata === undefined ? null : metadata });
    }
  }
  await out({ total, found: seen.size });
  process.stdout.end(() => process.exit(0));
})().catch((err) => { process.stderr.write(String((err && err.message) || err)); process.exit(1); });
`;

interface Extracted {
  id?: string;
  vector?: number[] | null;
  metadata?: string | null;
  total?: number;
  found?: number;
}

async function* readVectors(copy: string, label: string, ctx: MapContext, options: RedbExtractOptions): AsyncGenerator<TargetRow> {
  const why = (reason: string) => ctx.warnings.add('source', SOURCE_TABLE, undefined, 1, `${label}: vectors not extracted: ${reason}`);
  const config = findRedbConfig(readFileSync(copy));
  if (!config) {
    why('the file holds no readable @ruvector/core config (dimensions unknown)');
    return;
  }
  const dim = config.dimensions;
  if (dim > MAX_REDB_DIMENSIONS) {
    why(`its config says ${dim} dimensions, more than the ${MAX_REDB_DIMENSIONS} this reader accepts (the file is damaged, or not a vector store of this kind)`);
    return;
  }
  let corePath: string;
  try {
    corePath = options.corePath ?? createRequire(import.meta.url).resolve('@ruvector/core');
  } catch (err) {
    why(`@ruvector/core is not installed (${errorMessage(err)})`);
    return;
  }
  const distanceMetric = typeof config.distance_metric === 'string' ? config.distance_metric : null;
  const child = spawn(process.execPath, ['-e', EXTRACT_SCRIPT, corePath, copy, String(dim)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4000) stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      stderr += errorMessage(err);
      resolve(-1);
    });
    child.on('close', (code) => resolve(code));
  });
  // watchdog: a child silent for idleMs is killed (its stdout then ends and the loop below with it)
  const idleMs = options.idleTimeoutMs ?? REDB_IDLE_TIMEOUT_MS;
  let stalled = false;
  let watchdog: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      stalled = true;
      child.kill('SIGKILL');
    }, idleMs);
  };
  arm();
  let summary: Extracted | undefined;
  let complete = false;
  try {
    for await (const line of createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY })) {
      arm();
      if (!line) continue;
      const item = JSON.parse(line) as Extracted;
      if (item.id === undefined) {
        summary = item;
        continue;
      }
      const id = item.id;
      const b = new RowBuilder(ctx, 'source_vectors', SOURCE_TABLE, `${SOURCE_TABLE}:${id}`);
      b.set('owner_key', 'id', id);
      b.set('dimension', 'dimensions', dim);
      if (item.vector) b.set('vector', 'vector', item.vector.map(Math.fround), { dim });
      if (item.metadata !== null && item.metadata !== undefined) b.set('metadata', 'metadata', item.metadata, { jsonText: true });
      if (distanceMetric) b.extra('distance_metric', distanceMetric);
      // The binding returns metadata as JSON text whose key order changes from one open to the
      // next: hash the parsed value (contentHash sorts keys) so an unchanged vector stays unchanged.
      yield b.build(contentHash({ id, vector: item.vector ?? null, metadata: parseJsonOrText(item.metadata ?? null) }));
    }
    complete = true;
  } finally {
    // Only a consumer that stopped early ends the child: after its last line it exits by itself,
    // and killing it then turned a complete read into "could not read it (exit code null)".
    clearTimeout(watchdog);
    if (!complete && child.exitCode === null) child.kill();
  }
  const code = await exited;
  clearTimeout(watchdog);
  if (stalled) why(`@ruvector/core gave nothing for ${idleMs / 1000} s and was stopped (the file may be damaged); the vectors it gave before are kept`);
  else if (code !== 0) why(`@ruvector/core could not read it (${stderr.trim() || `exit code ${code}`})`);
  else if (summary && (summary.found ?? 0) < (summary.total ?? 0)) why(`found ${summary.found} of ${summary.total} vectors (the binding cannot list ids; the index search missed some)`);
}

function parseJsonOrText(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
