// Capturing discovered files: each one copied consistently into a temp folder, hashed, and
// described (tables or collections with row counts, schema fingerprint). A file that cannot be
// captured becomes a value saying why; it never stops the others.

import { createHash } from 'node:crypto';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeScratchDir } from '../../functions/runtime/scratch-dir.js';
import type { ErrorCode } from '../../schema/errors.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import { MAX_TABLES_PER_SOURCE, type TableCount } from '../../schema/snapshot/manifest.js';
import type { DiscoveredFile } from '../workspace/discover.js';
import { jsonCollections, jsonFingerprint } from './json-collections.js';
import { copyJsonStreaming, readJsonWhole } from './json-snapshot.js';
import { STREAM_JSON_ABOVE_BYTES } from '../../functions/loader/read/json-source.js';
import { openStreamedJson } from '../../functions/loader/read/json-stream.js';
import { mapContext } from '../../schema/sources/mappings/map-context.js';
import { copyRedbFile, countRedbVectors } from './redb-snapshot.js';
import { SqlitePageCensus } from './sqlite-page-census.js';
import { assertQuickCheck, copySqliteConsistently, readSqliteInventory, sqliteError } from './sqlite-snapshot.js';
import { type ChunkerSettings, type ChunkSpan, CHUNKING, scanFile, WHOLE_FILE_MAX_BYTES } from './content-chunks.js';

/** A file copied into the temp folder, ready to upload. */
export interface CapturedFile {
  status: 'captured';
  file: DiscoveredFile;
  /** The copy (what is hashed and uploaded); deleted with the temp folder. */
  tempPath: string;
  sha256: string;
  size: number;
  /** The copy's content-defined chunks, in order (one for a file of at most the whole-file size), read in the same pass as sha256. */
  chunks: ChunkSpan[];
  capturedAt: Date;
  modifiedAt: Date | undefined;
  schemaFingerprint: string;
  tables: TableCount[];
  warnings: string[];
}

/** A file that could not be captured, and why (plain words, with what to do). */
export interface FailedFile {
  status: 'failed';
  file: DiscoveredFile;
  code: ErrorCode;
  reason: string;
}

export type CaptureOutcome = CapturedFile | FailedFile;

/** What `sources` shows for one present file: counts read in place (redb: from a temp copy). */
export interface FileInventory {
  tables: TableCount[] | null;
  warnings: string[];
  problem: { code: ErrorCode; message: string } | null;
}

/**
 * Runs `fn` with a fresh temp folder (under the OS temp dir, never the workspace), always removed.
 * @example await withTempDir((dir) => captureFile(file, join(dir, '0')))
 */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await makeScratchDir('upload');
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How captureFile cuts a copy into chunks (the push's settings; the defaults are the push's defaults). */
export interface CaptureOptions {
  chunking?: ChunkerSettings;
  /** Files up to this size are one chunk (default WHOLE_FILE_MAX_BYTES; Infinity: never cut). */
  wholeFileMaxBytes?: number;
  /**
   * Hears of each chunk of a copy as soon as it is cut (scanFile's onChunk), with the copy's path;
   * the read waits while the returned promise is pending. It may hear of chunks of a file whose
   * capture then fails (a damaged SQLite file): those chunks are in no manifest.
   */
  onChunk?: (copyPath: string, chunk: ChunkSpan) => void | Promise<void>;
  /**
   * Runs QUICK_CHECK_SQL on a SQLite copy of `size` bytes elsewhere (a worker thread) while this
   * thread reads the copy, and gives its rows (or rejects with SQLite's error); null: check it on
   * this thread after the read (the default).
   */
  checkSqlite?: (path: string, size: number) => Promise<string[]> | null;
}

/**
 * Copies one present file to `copyPath` (a fresh path in a temp folder) and describes the copy:
 * one read pass of the copy gives its sha256 and its chunks. Never throws for a problem with the
 * file itself: it returns a FailedFile.
 */
export async function captureFile(file: DiscoveredFile, copyPath: string, options: CaptureOptions = {}): Promise<CaptureOutcome> {
  const onChunk = options.onChunk;
  const scan = (path: string, observe?: (block: Buffer, offset: number) => void) =>
    scanFile(path, options.chunking ?? CHUNKING, options.wholeFileMaxBytes ?? WHOLE_FILE_MAX_BYTES, observe, onChunk && ((chunk) => onChunk(path, chunk)));
  try {
    const warnings: string[] = [];
    let tables: TableCount[];
    let schemaFingerprint: string;
    let scanned: { sha256: string; chunks: ChunkSpan[] } | null = null;
    let sha256: string;
    const capturedAt = new Date();
    if (file.kind === 'sqlite') {
      await copySqliteConsistently(file.absPath, copyPath, file.path);
      // One read gives the hash, the cut points and the pages row counts come from. The integrity
      // check reads the copy too: on another thread at the same time when one is given (it opens
      // the copy read-only: not a byte of it changes), else here afterwards.
      const census = new SqlitePageCensus();
      const checking = options.checkSqlite?.(copyPath, (await stat(copyPath)).size) ?? undefined;
      const [read, checked] = await Promise.allSettled([scan(copyPath, (block, offset) => census.add(block, offset)), checking]);
      if (read.status === 'rejected') throw read.reason;
      if (checked.status === 'rejected') throw sqliteError(checked.reason, file.path, 'read');
      if (checked.value !== undefined) assertQuickCheck(checked.value, file.path);
      scanned = read.value;
      sha256 = scanned.sha256;
      const inventory = readSqliteInventory(copyPath, { check: checking === undefined, label: file.path, ourCopy: true, rowsOf: (root) => census.rows(root) });
      tables = inventory.tables;
      schemaFingerprint = inventory.schemaFingerprint;
    } else if (file.kind === 'redb') {
      await copyRedbFile(file.absPath, copyPath, file.path);
      scanned = await scan(copyPath);
      sha256 = scanned.sha256;
      schemaFingerprint = createHash('sha256').update('redb:@ruvector/core').digest('hex');
      // read-only parse of the copy (nothing written): counted after hashing all the same
      const counted = await countRedbVectors(copyPath);
      if (counted.ok) tables = [{ name: 'vectors', rows: counted.vectors }];
      else {
        tables = [];
        warnings.push(`${file.path}: ${counted.warning}`);
      }
    } else if ((file.size ?? (await stat(file.absPath)).size) > STREAM_JSON_ABOVE_BYTES) {
      // large: copied and checked as streams, never held whole in memory
      const copy = await copyJsonStreaming(file.absPath, copyPath, { label: file.path });
      sha256 = copy.sha256;
      tables = jsonCollections(file.format, copy.doc, file.path.split('/').pop() ?? file.path);
      schemaFingerprint = jsonFingerprint(copy.doc);
    } else {
      const read = await readJsonWhole(file.absPath, { label: file.path });
      await writeFile(copyPath, read.bytes);
      sha256 = createHash('sha256').update(read.bytes).digest('hex');
      tables = jsonCollections(file.format, read.value, file.path.split('/').pop() ?? file.path);
      schemaFingerprint = jsonFingerprint(read.value);
    }
    // one source that cannot be listed in a manifest fails alone, not the whole push
    if (tables.length > MAX_TABLES_PER_SOURCE) {
      throw new AppError(
        'VALUE_INVALID',
        `${file.path}: holds ${tables.length.toLocaleString('en-US')} tables or collections, more than the ${MAX_TABLES_PER_SOURCE.toLocaleString('en-US')} a snapshot records for one source; the tools never write so many: clean up the file, or exclude it in aqe-sync.config.json`,
      );
    }
    const size = (await stat(copyPath)).size;
    // JSON copies were hashed while written; a large one is cut here (a second read, of a rare file)
    const chunks = scanned?.chunks ?? (size > (options.wholeFileMaxBytes ?? WHOLE_FILE_MAX_BYTES) ? (await scan(copyPath)).chunks : [{ offset: 0, size, sha256 }]);
    return { status: 'captured', file, tempPath: copyPath, sha256, size, chunks, capturedAt, modifiedAt: file.modifiedAt, schemaFingerprint, tables, warnings };
  } catch (err) {
    return failed(file, err);
  }
}

/** Tables / collections with row counts of a present file, read without copying (except redb). */
export async function inspectFile(file: DiscoveredFile): Promise<FileInventory> {
  try {
    if (file.kind === 'sqlite') return { tables: readSqliteInventory(file.absPath, { label: file.path }).tables, warnings: [], problem: null };
    if (file.kind === 'redb') {
      return await withTempDir(async (dir) => {
        const copy = join(dir, 'inspect.redb');
        await copyRedbFile(file.absPath, copy, file.path);
        const counted = await countRedbVectors(copy);
        return counted.ok ? { tables: [{ name: 'vectors', rows: counted.vectors }], warnings: [], problem: null } : { tables: null, warnings: [counted.warning], problem: null };
      });
    }
    const name = file.path.split('/').pop() ?? file.path;
    if ((file.size ?? 0) > STREAM_JSON_ABOVE_BYTES) return { tables: jsonCollections(file.format, openStreamedJson(file.absPath, mapContext(file.path)).doc, name), warnings: [], problem: null };
    const read = await readJsonWhole(file.absPath, { label: file.path });
    return { tables: jsonCollections(file.format, read.value, name), warnings: [], problem: null };
  } catch (err) {
    const f = failed(file, err);
    return { tables: null, warnings: [], problem: { code: f.code, message: f.reason } };
  }
}

function failed(file: DiscoveredFile, err: unknown): FailedFile {
  if (err instanceof AppError) return { status: 'failed', file, code: err.code, reason: err.message };
  return { status: 'failed', file, code: 'SNAPSHOT_FAILED', reason: `${file.path}: could not be captured (${errorMessage(err)}); run again, or disable the source if it keeps failing` };
}
