// The generator behind `aqe-upload demo` (shipped code) and the tests' workspace builder
// (test/support/workspace-builder.ts re-exports it): writes a realistic workspace holding every
// local source of SOURCES.md at the catalogue's default paths (real SQLite files in WAL and
// rollback-journal mode, the JSON layouts, a real @ruvector/core redb file), deterministic for a
// seed, and reports the row counts a reader must find. One file per catalogue source under
// sources/ (shared helpers in sources/fixture-kit.ts); this file only orders them.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Rng, SIZES, sourcePath, writeFileEnsuringDir } from './sources/fixture-kit.js';
import { buildJsonSources } from './sources/json-sources.js';
import { buildRootMemory } from './sources/root-memory.js';
import { buildRuvectorPatterns } from './sources/ruvector-patterns.js';
import { buildSwarmMemory } from './sources/swarm-memory.js';
import { buildV3Memory } from './sources/v3-memory.js';

export { float32Blob } from './sources/fixture-kit.js';
export { redbVectorCount } from './sources/ruvector-patterns.js';

export interface BuildWorkspaceOptions {
  /** `small`: a few rows per table (< 1 s). `plan`: the volumes of the user's plan (~1,100 qe_patterns, 2,060 memory_entries, …). */
  volume?: 'small' | 'plan';
  /** Seed of the pseudo-random generator: same seed, same content. Default 1. */
  seed?: number;
  /** Keep the last commits of `v3/.agentic-qe/memory.db` in its `-wal` file (a connection stays open until `close()`). */
  holdWal?: boolean;
}

/** What {@link buildWorkspace} wrote. */
export interface BuiltWorkspace {
  /** The workspace root (absolute). */
  root: string;
  /** Every file written, relative to `root` (posix separators, sorted). `-wal` / `-shm` files are not listed. */
  files: string[];
  /**
   * `"<sourceId>/<table or collection>"` → the row count a reader must find.
   * SQLite: every table except `sqlite_sequence`, FTS virtual tables and their shadow tables (empty tables included).
   * intelligence.json: `patterns`, `memories`, `trajectories`, `errors`, `file_sequences`, `agents`, `edges`.
   * store.json: `entries`; daemon-state.json: `workers`; metrics: one key per file, by base name without
   * `.json` (array file → its length, object file → 1); redb: `vectors`.
   */
  expected: Record<string, number>;
  /** With `holdWal`: `"v3-memory/<table>"` → how many of that table's rows live only in the `-wal` file. Empty otherwise. */
  heldInWal: Record<string, number>;
  /** Releases the connection kept open by `holdWal` (SQLite then checkpoints and removes the `-wal`). No-op otherwise. */
  close(): Promise<void>;
}


/**
 * Writes every source at its default path under `root` and returns what a reader must find.
 *
 * @example
 * const ws = await buildWorkspace(tmp, { volume: 'small', seed: 7, holdWal: true });
 * try { expect(await countRows(ws.root)).toEqual(ws.expected); } finally { await ws.close(); }
 */
export async function buildWorkspace(root: string, options: BuildWorkspaceOptions = {}): Promise<BuiltWorkspace> {
  const volume = options.volume ?? 'small';
  const seed = options.seed ?? 1;
  const sizes = SIZES[volume];
  const expected: Record<string, number> = {};
  const files: string[] = [];
  const track = (source: string, counts: Record<string, number>) => {
    for (const [k, v] of Object.entries(counts)) expected[`${source}/${k}`] = v;
  };

  const v3 = buildV3Memory(root, new Rng(seed * 101 + 1), sizes, options.holdWal === true);
  files.push(sourcePath('v3-memory'));
  track('v3-memory', v3.counts);

  track('root-memory', buildRootMemory(join(root, sourcePath('root-memory')), new Rng(seed * 101 + 2), sizes));
  files.push(sourcePath('root-memory'));

  track('swarm-memory', buildSwarmMemory(join(root, sourcePath('swarm-memory')), new Rng(seed * 101 + 3), sizes));
  files.push(sourcePath('swarm-memory'));

  const jsonFiles = buildJsonSources(new Rng(seed * 101 + 4), sizes, volume);
  for (const f of jsonFiles) {
    await writeFileEnsuringDir(join(root, f.path), f.text);
    files.push(f.path);
    track(f.source, f.counts);
  }

  const redb = await buildRuvectorPatterns(root, new Rng(seed * 101 + 5), sizes.redb);
  files.push(...redb.files);
  track('ruvector-patterns', { vectors: redb.count });

  const heldInWal: Record<string, number> = {};
  if (v3.held) for (const [k, v] of Object.entries(v3.tail)) heldInWal[`v3-memory/${k}`] = v;

  let open = v3.held;
  return {
    root,
    files: files.sort(),
    expected,
    heldInWal,
    close: async () => {
      if (open) {
        open.close();
        open = undefined;
      }
    },
  };
}

/** `SELECT COUNT(*)` of one table, opening the file read-only (works on WAL files while a writer holds them). */
export function sqliteRowCount(dbPath: string, table: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare(`SELECT COUNT(*) AS n FROM "${table.replaceAll('"', '""')}"`).get() as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

