// Workspaces for the push fault tests: every source kind at plan volume, optionally plus one large
// SQLite extra source so a push lasts long enough to be interrupted at many moments; `touch`
// changes that file and a small JSON one, so the next push writes a small blob early and a large
// one late (unchanged content writes no blob), with a real window between blobs and manifest.

import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { rowsForSize, writeLargeSqlite } from '../../../support/large-sources.js';
import { buildWorkspace, type BuiltWorkspace } from '../../../support/workspace-builder.js';

export const BULK_SOURCE_ID = 'bulk-history';
export const BULK_SOURCE_PATH = 'bulk/history.db';
/** A small JSON source (one row) that `touch` rewrites. */
const TOUCHED_METRICS_PATH = '.claude-flow/metrics/consolidation.json';

export interface FaultWorkspace {
  root: string;
  built: BuiltWorkspace;
  /** Files a push captures (the builder's files, plus the bulk file when there is one). */
  sourceFiles: number;
  /** Size of the bulk SQLite file (0 without one). */
  bulkBytes: number;
  /** Changes the bulk file (one row keyed by `n`) and a small metrics file: the next push must store two new blobs. */
  touch(n: number): void;
  close(): Promise<void>;
}

/**
 * Builds a plan-volume workspace at `root`; with `bulkMb` > 0 adds `bulk/history.db` of about that
 * size as an extra source (aqe-sync.config.json), so a push gzips and stores that much more.
 * @example const ws = await buildFaultWorkspace(join(tmp, 'ws'), { bulkMb: 40, seed: 4 });
 */
export async function buildFaultWorkspace(root: string, options: { bulkMb?: number; seed?: number } = {}): Promise<FaultWorkspace> {
  const built = await buildWorkspace(root, { volume: 'plan', seed: options.seed ?? 1 });
  const bulkMb = options.bulkMb ?? 0;
  let bulkBytes = 0;
  const bulkPath = join(root, BULK_SOURCE_PATH);
  if (bulkMb > 0) {
    const payloadBytes = 200;
    bulkBytes = (await writeLargeSqlite(bulkPath, { rows: rowsForSize(bulkMb * 1024 * 1024, payloadBytes), payloadBytes, table: 'history' })).bytes;
    await writeFile(join(root, 'aqe-sync.config.json'), JSON.stringify({ extraSources: [{ id: BULK_SOURCE_ID, path: BULK_SOURCE_PATH }] }));
  }
  return {
    root,
    built,
    sourceFiles: built.files.length + (bulkMb > 0 ? 1 : 0),
    bulkBytes,
    touch(n: number) {
      if (bulkMb <= 0) throw new Error('buildFaultWorkspace: touch() needs a bulk file (bulkMb > 0)');
      const metrics = join(root, TOUCHED_METRICS_PATH);
      writeFileSync(metrics, `${JSON.stringify({ ...(JSON.parse(readFileSync(metrics, 'utf8')) as object), touchedBy: n }, null, 2)}\n`);
      const db = new Database(bulkPath);
      try {
        db.prepare('INSERT OR REPLACE INTO history (id, key, value, created_at) VALUES (?, ?, ?, ?)').run(1_000_000_000 + n, `touch-${n}`, `changed for push ${n}`, 1_736_121_600_000 + n);
      } finally {
        db.close();
      }
    },
    close: () => built.close(),
  };
}
