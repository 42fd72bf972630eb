// redb sources (@ruvector/core VectorDb files): copied as opaque files, and counted by opening the
// COPY with @ruvector/core in a short-lived child process: the binding has no close(), keeps the
// file locked while its process lives, and creates a new database when a path does not exist.

import { execFile } from 'node:child_process';
import { copyFile, open, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError } from '../../schema/errors.js';
import { REDB_MAGIC } from './content-kind.js';

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

const COUNT_SCRIPT = `
const fail = (e) => { process.stderr.write(String((e && e.message) || e)); process.exit(1); };
try {
  const { VectorDb } = require(process.argv[1]);
  const db = new VectorDb({ dimensions: 1, storagePath: process.argv[2] });
  db.len().then((n) => { process.stdout.write(JSON.stringify({ n })); process.exit(0); }, fail);
} catch (e) { fail(e); }
`;

/**
 * Number of vectors in a redb COPY (never the live file: opening takes a lock, and may write).
 * Returns a warning instead of failing when @ruvector/core is not available or cannot open it.
 */
export async function countRedbVectors(copyPath: string, timeoutMs = 30_000): Promise<RedbCount> {
  let modulePath: string;
  try {
    modulePath = createRequire(import.meta.url).resolve('@ruvector/core');
  } catch {
    return { ok: false, warning: '@ruvector/core is not installed, so its vectors were not counted (the file is stored as is)' };
  }
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', COUNT_SCRIPT, modulePath, copyPath], { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const why = String(stderr).trim().split('\n')[0] || err.message;
        resolve({ ok: false, warning: `@ruvector/core could not open the copy (${why}), so its vectors were not counted (the file is stored as is)` });
        return;
      }
      try {
        const n = (JSON.parse(String(stdout)) as { n: unknown }).n;
        if (typeof n === 'number' && Number.isInteger(n) && n >= 0) resolve({ ok: true, vectors: n });
        else resolve({ ok: false, warning: `@ruvector/core returned an unexpected count (${String(n)})` });
      } catch {
        resolve({ ok: false, warning: '@ruvector/core printed no count' });
      }
    });
  });
}
