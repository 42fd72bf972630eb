// Reads every source of a workspace built like the real tools write it and checks that every
// source row lands in exactly one target row per (source, table), with keys unique per target.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshotSource } from '../../../functions/loader/read/read-snapshot-source.js';
import type { SourceReadResult } from '../../../functions/loader/read/source-read-result.js';
import type { SourceFormat } from '../../../schema/sources/catalogue.js';
import { catalogueEntry } from '../../../schema/sources/catalogue.js';
import type { TargetRow } from '../../../schema/tables/target-tables.js';
import { targetTable } from '../../../schema/tables/target-tables.js';
import type { BuiltWorkspace } from '../../support/workspace-builder.js';
import { buildWorkspace } from '../../support/workspace-builder.js';

function sourceOf(path: string): { sourceId: string; format: SourceFormat } {
  if (path.endsWith('.meta.json')) return { sourceId: 'ruvector-patterns', format: 'ruvector-redb-meta' };
  if (path.startsWith('.claude-flow/metrics/')) return { sourceId: 'claude-flow-metrics', format: 'claude-flow-metrics' };
  const ids = ['v3-memory', 'root-memory', 'swarm-memory', 'claude-flow-store', 'claude-flow-daemon', 'ruvector-intelligence', 'ruvector-patterns'];
  for (const id of ids) {
    const e = catalogueEntry(id);
    if (e?.paths.includes(path)) return { sourceId: id, format: e.format };
  }
  throw new Error(`no source for ${path}`);
}

interface ReadAll {
  counts: Record<string, number>;
  /** Duplicate `(source, target table, key)` triples (expected: none). */
  duplicateKeys: string[];
  /** Values that do not fit their column type (expected: none). */
  badValues: string[];
  results: SourceReadResult[];
}

/** Checks a row's modelled values against the target column types; returns the problems. */
function typeProblems(row: TargetRow): string[] {
  const out: string[] = [];
  const types = new Map(targetTable(row.table).columns.map((c) => [c.name, c.type]));
  for (const [col, v] of Object.entries(row.values)) {
    const type = types.get(col);
    const ok =
      type !== undefined &&
      (v === null ||
        (type === 'text' && typeof v === 'string') ||
        (type === 'jsonb' && v !== undefined) ||
        (type === 'double' && Number.isFinite(v)) ||
        ((type === 'bigint' || type === 'integer') && (Number.isInteger(v) || typeof v === 'bigint')) ||
        (type === 'boolean' && typeof v === 'boolean') ||
        (type === 'timestamptz' && v instanceof Date) ||
        ((type === 'real[]' || type === 'double[]') && Array.isArray(v)));
    if (!ok) out.push(`${row.table}.${col} (${type}) = ${String(v)}`);
  }
  if (!/^[0-9a-f]{64}$/.test(row.contentHash)) out.push(`${row.table} ${row.sourceKey}: content hash ${row.contentHash}`);
  return out;
}

// Streams every part and keeps only counts and keys (the plan volume holds ~10K vectors).
async function readAll(ws: BuiltWorkspace): Promise<ReadAll> {
  const counts: Record<string, number> = {};
  const keys = new Set<string>();
  const duplicateKeys: string[] = [];
  const badValues: string[] = [];
  const results: SourceReadResult[] = [];
  for (const path of ws.files) {
    const { sourceId, format } = sourceOf(path);
    const result = readSnapshotSource({ sourceId, path, format }, join(ws.root, path));
    try {
      for (const part of result.parts) {
        for await (const row of part.rows()) {
          const k = `${sourceId}\u0001${row.table}\u0001${row.sourceKey}`;
          if (keys.has(k)) duplicateKeys.push(k);
          keys.add(k);
          badValues.push(...typeProblems(row));
        }
      }
      for (const [i, t] of result.tables().entries()) {
        // a row's own vector also lands in source_vectors (a companion part of the same table): counted once
        if (result.parts[i]?.mapping.endsWith('+vectors')) continue;
        // The redb sidecar is its own file: count it apart from the redb vectors.
        const k = `${sourceId}/${format === 'ruvector-redb-meta' ? `meta:${t.sourceTable}` : t.sourceTable}`;
        counts[k] = (counts[k] ?? 0) + t.rows;
      }
      results.push(result);
    } finally {
      result.close();
    }
  }
  return { counts, duplicateKeys, badValues, results };
}

describe.each(['small', 'plan'] as const)('reading a %s workspace', (volume) => {
  let root: string;
  let ws: BuiltWorkspace;
  let all: ReadAll;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), `aqe-read-${volume}-`));
    ws = await buildWorkspace(root, { volume });
    all = await readAll(ws);
  });
  afterAll(async () => {
    await ws?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('finds every source row the workspace holds, per source and table', () => {
    for (const [k, n] of Object.entries(ws.expected)) expect({ k, n: all.counts[k] }).toEqual({ k, n });
  });

  it('keeps source keys unique per source and target table', () => {
    expect(all.duplicateKeys).toEqual([]);
  });

  it('produces only modelled columns with values of their column type', () => {
    expect(all.badValues).toEqual([]);
  });

  it('skips FTS virtual and shadow tables and sqlite_sequence', () => {
    const v3 = all.results.find((r) => r.sourceId === 'v3-memory');
    const skipped = v3?.skipped.map((s) => s.name) ?? [];
    expect(skipped).toEqual(expect.arrayContaining(['qe_patterns_fts', 'qe_patterns_fts_data', 'qe_patterns_fts_idx', 'qe_patterns_fts_config', 'sqlite_sequence']));
    expect(v3?.parts.some((p) => p.sourceTable.startsWith('qe_patterns_fts'))).toBe(false);
  });
});

describe('reading while the v3 writer still holds commits in its -wal', () => {
  it('includes the rows that live only in the -wal file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'aqe-read-wal-'));
    let ws: BuiltWorkspace | undefined;
    try {
      ws = await buildWorkspace(root, { volume: 'small', holdWal: true });
      expect(Object.keys(ws.heldInWal).length).toBeGreaterThan(0);
      const path = 'v3/.agentic-qe/memory.db';
      const result = readSnapshotSource({ sourceId: 'v3-memory', path, format: 'sqlite' }, join(root, path));
      try {
        for (const part of result.parts) for await (const _ of part.rows());
        const counts = Object.fromEntries(result.tables().filter((_, i) => !result.parts[i]?.mapping.endsWith('+vectors')).map((t) => [`v3-memory/${t.sourceTable}`, t.rows]));
        for (const k of Object.keys(ws.heldInWal)) expect(counts[k]).toBe(ws.expected[k]);
      } finally {
        result.close();
      }
    } finally {
      await ws?.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
