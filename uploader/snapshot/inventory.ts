// The inventory `aqe-upload sources` shows: every configured source path with its state, kind,
// size, last modification, role, tables or collections with row counts, and problems.

import type { ErrorCode } from '../../schema/errors.js';
import type { UploaderConfig } from '../config.js';
import { inspectFile } from './capture.js';
import type { DiscoveredState } from '../workspace/discover.js';
import { discoverSources } from '../workspace/discover.js';

export interface InventoryEntry {
  id: string;
  path: string;
  state: DiscoveredState;
  kind: string;
  format: string;
  role: string;
  origin: 'catalogue' | 'config';
  size: number | null;
  modifiedAt: string | null;
  /** Tables (SQLite) or collections (JSON) with row counts; null when they could not be read. */
  tables: Array<{ name: string; rows: number }> | null;
  /** Sum of the row counts (null when unknown). */
  rows: number | null;
  warnings: string[];
  problem: { code: ErrorCode; message: string } | null;
}

export interface Inventory {
  workspace: string;
  configFile: string | null;
  entries: InventoryEntry[];
  /** Plain-words problems (wrong kind, unreadable, corrupt), one per line. */
  problems: string[];
}

/** Discovers and inspects every source of `config` (reads only; redb files are counted from a temp copy). */
export async function buildInventory(config: Pick<UploaderConfig, 'workspace' | 'configFile' | 'sources' | 'exclude'>): Promise<Inventory> {
  const files = await discoverSources(config);
  const entries: InventoryEntry[] = [];
  for (const f of files) {
    const looked = f.state === 'present' ? await inspectFile(f) : null;
    const problem = looked?.problem ?? f.problem ?? null;
    const tables = looked?.tables ?? null;
    entries.push({
      id: f.sourceId,
      path: f.path,
      state: looked?.problem ? 'problem' : f.state,
      kind: f.kind,
      format: f.format,
      role: f.spec.role,
      origin: f.spec.origin,
      size: f.size ?? null,
      modifiedAt: f.modifiedAt?.toISOString() ?? null,
      tables,
      rows: tables === null ? null : tables.reduce((a, t) => a + t.rows, 0),
      warnings: looked?.warnings ?? [],
      problem: f.state === 'missing' ? null : problem,
    });
  }
  const problems = entries.filter((e) => e.state === 'problem' && e.problem !== null).map((e) => e.problem!.message);
  return { workspace: config.workspace, configFile: config.configFile, entries, problems };
}
