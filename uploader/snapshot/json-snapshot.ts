// JSON sources: read once, parsed to confirm the document is whole, hashed from the same bytes.
// Tools rewrite some of these files in place, so a read that catches a half-written file (or a
// size change while reading) is retried a couple of times before the file is reported.

import { createHash } from 'node:crypto';
import { constants, createWriteStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, isAppError } from '../../schema/errors.js';
import { openStreamedJson } from '../../functions/loader/read/json-stream.js';
import { mapContext } from '../../schema/sources/mappings/map-context.js';
import { describeJsonSyntaxError } from '../../schema/json-syntax.js';

export interface JsonRead {
  /** The exact bytes read (what is hashed and stored). */
  bytes: Buffer;
  value: unknown;
  modifiedAt: Date;
}

export interface ReadJsonOptions {
  /** Reads attempted before giving up (default 3). */
  attempts?: number;
  /** Pause between attempts, ms (default 150). */
  delayMs?: number;
  /** Name used in messages (the workspace-relative path). */
  label?: string;
}

/**
 * Reads and parses a JSON file, retrying when it is caught mid-rewrite. Throws SOURCE_CORRUPT
 * (not JSON, truncated, empty) or SOURCE_UNREADABLE, naming the file and what to do.
 * @example const { bytes, value } = await readJsonWhole('/ws/.claude-flow/memory/store.json')
 */
export async function readJsonWhole(path: string, options: ReadJsonOptions = {}): Promise<JsonRead> {
  const attempts = options.attempts ?? 3;
  const label = options.label ?? path;
  let lastProblem = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(options.delayMs ?? 150);
    let bytes: Buffer;
    let before: { size: number; mtimeMs: number };
    try {
      // O_NONBLOCK: a FIFO put where a file belongs must not hang the read.
      const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
        before = st;
        bytes = await fh.readFile();
      } finally {
        await fh.close();
      }
    } catch (err) {
      const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
      const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied; make it readable by this user' : (err as Error).message;
      throw new AppError('SOURCE_UNREADABLE', `${label}: cannot be read (${why})`, { cause: err });
    }
    const after = await stat(path).catch(() => null);
    if (after !== null && (after.size !== bytes.length || after.mtimeMs !== before.mtimeMs)) {
      lastProblem = `it changed while being read (${bytes.length} bytes read, ${after.size} bytes now)`;
      continue;
    }
    if (bytes.length === 0) {
      lastProblem = 'it is empty (0 bytes)';
      continue;
    }
    const text = bytes.toString('utf8').replace(/^\ufeff/, '');
    try {
      return { bytes, value: JSON.parse(text), modifiedAt: new Date(before.mtimeMs) };
    } catch (err) {
      // never the parser's own words: they quote the file's text
      lastProblem = `it is not valid JSON (${describeJsonSyntaxError(err)})`;
    }
  }
  throw new AppError(
    'SOURCE_CORRUPT',
    `${label}: ${lastProblem} (tried ${attempts} time${attempts > 1 ? 's' : ''}); if a tool is rewriting it, run again when it is done; otherwise repair or remove the file, or exclude it in aqe-sync.config.json`,
  );
}

export interface JsonCopy {
  sha256: string;
  size: number;
  /** The copy's top level (big members lazy: json-stream.ts), for counts and fingerprint. */
  doc: unknown;
  modifiedAt: Date;
}

/**
 * A large JSON file, copied to `dest` as a stream (hashed on the way) and checked by a streaming
 * scan of the copy: memory stays bounded whatever the size (readJsonWhole held the bytes, their
 * text and the parsed document: ~0.9 GB for a 238 MB file). Retried like readJsonWhole when the
 * file changes while it is copied or the copy is not whole JSON (caught mid-rewrite).
 */
export async function copyJsonStreaming(path: string, dest: string, options: ReadJsonOptions = {}): Promise<JsonCopy> {
  const attempts = options.attempts ?? 3;
  const label = options.label ?? path;
  let lastProblem = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await sleep(options.delayMs ?? 150);
    let before: { size: number; mtimeMs: number };
    const hash = createHash('sha256');
    let size = 0;
    try {
      const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        const st = await fh.stat();
        if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EISDIR' });
        before = st;
        const input = fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false });
        input.on('data', (chunk) => {
          hash.update(chunk as Buffer);
          size += (chunk as Buffer).length;
        });
        await pipeline(input, createWriteStream(dest));
      } finally {
        await fh.close();
      }
    } catch (err) {
      await rm(dest, { force: true });
      const code = typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : '';
      const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied; make it readable by this user' : (err as Error).message;
      throw new AppError('SOURCE_UNREADABLE', `${label}: cannot be read (${why})`, { cause: err });
    }
    const after = await stat(path).catch(() => null);
    if (after !== null && (after.size !== size || after.mtimeMs !== before.mtimeMs)) {
      lastProblem = `it changed while being read (${size} bytes read, ${after.size} bytes now)`;
      continue;
    }
    if (size === 0) {
      lastProblem = 'it is empty (0 bytes)';
      continue;
    }
    try {
      const { doc } = openStreamedJson(dest, mapContext(label));
      return { sha256: hash.digest('hex'), size, doc, modifiedAt: new Date(before.mtimeMs) };
    } catch (err) {
      if (!isAppError(err)) throw err;
      lastProblem = `it is not valid JSON (${err.message.replace(`${label}: `, '').replace(/\. [^.]*$/, '')})`;
    }
  }
  await rm(dest, { force: true });
  throw new AppError(
    'SOURCE_CORRUPT',
    `${label}: ${lastProblem} (tried ${attempts} time${attempts > 1 ? 's' : ''}); if a tool is rewriting it, run again when it is done; otherwise repair or remove the file, or exclude it in aqe-sync.config.json`,
  );
}
