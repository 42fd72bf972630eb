// What `watch` looks at: every path a push would read (SQLite files with their -wal and -journal,
// JSON files, JSON folders, redb files and sidecars, and configured paths not there yet), and the
// directories holding them. A target's signature is its size and mtime: readers (our own
// snapshots included) never change it, so a push cannot trigger the next one.

import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { UploaderConfig } from '../config.js';
import { discoverSources } from '../workspace/discover.js';

/** The absolute paths whose changes mean "push again" (sorted, unique). */
export async function watchTargets(config: Pick<UploaderConfig, 'workspace' | 'sources' | 'exclude'>): Promise<string[]> {
  const out = new Set<string>();
  for (const file of await discoverSources(config)) {
    if (file.state === 'excluded' || file.state === 'disabled') continue;
    out.add(file.absPath);
    // A commit in WAL mode only touches the -wal; in rollback mode the -journal comes and goes.
    if (file.kind === 'sqlite') {
      out.add(`${file.absPath}-wal`);
      out.add(`${file.absPath}-journal`);
    }
    // A JSON folder gains and loses files: its own mtime says so (and its path is the entry's parent).
    if (file.kind === 'json-dir') out.add(dirname(file.absPath));
  }
  return [...out].sort();
}

/** The directories to fs.watch for `targets`: each target's parent (a file replaced by rename keeps being seen). */
export function watchDirectories(targets: readonly string[]): string[] {
  return [...new Set(targets.map((t) => dirname(t)))].sort();
}

/**
 * path → "size:mtimeMs" ("absent" when missing), for comparing two looks at the targets. An empty
 * or missing -wal / -journal is "empty" either way: a read-only open (our own snapshot) creates an
 * empty -wal when the writer's last close removed it, and that holds no data.
 */
export async function targetSignature(targets: readonly string[]): Promise<Map<string, string>> {
  const entries = await Promise.all(
    targets.map(async (t): Promise<[string, string]> => {
      const st = await stat(t).catch(() => null);
      if (/-(wal|journal)$/.test(t) && (st === null || st.size === 0)) return [t, 'empty'];
      return [t, st === null ? 'absent' : `${st.size}:${st.mtimeMs}`];
    }),
  );
  return new Map(entries);
}

/** The targets whose signature differs between two looks (added, removed or changed). */
export function changedTargets(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const changed: string[] = [];
  for (const [path, sig] of after) if (before.get(path) !== sig) changed.push(path);
  for (const path of before.keys()) if (!after.has(path)) changed.push(path);
  return changed.sort();
}
