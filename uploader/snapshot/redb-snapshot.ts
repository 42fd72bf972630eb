// redb sources (@ruvector/core VectorDb files): copied as opaque files, and counted by reading the
// COPY's own B-tree (functions/loader/read/redb-file.ts): no binding, no lock, nothing written.

import { copyFile, open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedbFile } from '../../functions/loader/read/redb-file.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import { REDB_MAGIC } from '../workspace/content-kind.js';

/**
 * Copies a redb file to `destPath`, retrying when it changes during the copy (a redb file has no
 * read-only snapshot API from outside its process). Fails with SOURCE_CORRUPT if the copy does not
 * start with the redb magic bytes.
 */
export async function copyRedbFile(sourcePath: string, destPath: string, label = sourcePath): Promise<void> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const before = await stat(sourcePath);
    await copyFile(sourcePath, destPath);
    const after = await stat(sourcePath);
    if (before.size === after.size && before.mtimeMs === after.mtimeMs) break;
    if (attempt === 3) {
      throw new AppError('SNAPSHOT_FAILED', `${label}: the file kept changing while being copied; stop the process writing it (ruvector) or run again later`, { transient: true });
    }
    await sleep(200);
  }
  const fh = await open(destPath, 'r');
  try {
    const head = Buffer.alloc(REDB_MAGIC.length);
    await fh.read(head, 0, head.length, 0);
    if (!head.equals(REDB_MAGIC)) throw new AppError('SOURCE_CORRUPT', `${label}: not a redb file any more (its first bytes changed); run again`);
  } finally {
    await fh.close();
  }
}

export type RedbCount = { ok: true; vectors: number } | { ok: false; warning: string };

/**
 * Number of vectors in a redb COPY, read from the file's own B-tree (the entry count its
 * `vectors` table records, checked by enumerating it): no binding, no lock, nothing written.
 * Returns a warning instead of failing when the file cannot be read to the end.
 */
export async function countRedbVectors(copyPath: string): Promise<RedbCount> {
  let file: RedbFile;
  try {
    file = RedbFile.open(copyPath);
  } catch (err) {
    return { ok: false, warning: `not a readable redb 2.x file (${errorMessage(err)}), so its vectors were not counted (the file is stored as is)` };
  }
  try {
    let n = 0;
    for (const _ of file.entries('vectors')) n++;
    return { ok: true, vectors: n };
  } catch (err) {
    return { ok: false, warning: `its vectors could not be counted (${errorMessage(err)}); the file is stored as is` };
  } finally {
    file.close();
  }
}
