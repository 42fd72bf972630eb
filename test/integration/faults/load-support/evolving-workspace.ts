// A workspace that evolves between pushes, for the load fault tests: each step changes, deletes
// and adds rows in the three SQLite sources and in the claude-flow store.json (the other JSON
// files stay as they are, so later snapshots also take the loader's "same content, not read
// again" path). Deterministic for a seed. The redb file is left out: its extractor process raced
// its own exit and added a spurious warning to about half of the loads, so two loads of the same
// snapshot differed in their run record (functions/loader/read/redb-source.ts).
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type BuiltWorkspace, buildWorkspace } from '../../../support/workspace-builder.js';

/** Rows one step changed, per `<file>:<table>`. */
export interface EvolveStep {
  step: number;
  updated: number;
  deleted: number;
  inserted: number;
  perTable: Record<string, { updated: number; deleted: number; inserted: number }>;
}

export interface EvolvingWorkspace {
  root: string;
  built: BuiltWorkspace;
  /** Applies step `n` (1, 2, …): some rows updated, some deleted, some added. */
  evolve(n: number): Promise<EvolveStep>;
  close(): Promise<void>;
}

/** Fractions of a table's rows a step touches. */
export interface EvolveRates {
  update: number;
  delete: number;
  insert: number;
}

const DEFAULT_RATES: EvolveRates = { update: 0.08, delete: 0.03, insert: 0.05 };

/** mulberry32: a small seeded generator (same seed, same sequence). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface TableEdit {
  table: string;
  /** Columns that make a cloned row's key new (a suffix is appended). */
  keyColumns: string[];
  /** An INTEGER PRIMARY KEY left out of a clone so SQLite assigns the next one. */
  autoId?: string;
  /** SET clause of an update (may use :step); null: rows of this table are never updated (append-only). */
  update: string | null;
  /** Deleting rows of this table also deletes dependants: [table, column referencing rowKey]. */
  cascade?: [string, string];
  /** Append-only tables (events, experiences) get only new rows. */
  appendOnly?: boolean;
}

const EDITS: Record<string, TableEdit[]> = {
  'v3/.agentic-qe/memory.db': [
    {
      table: 'qe_patterns',
      keyColumns: ['id'],
      update: `confidence = min(1.0, coalesce(confidence, 0.5) + 0.01), usage_count = coalesce(usage_count, 0) + 1,
               description = coalesce(description, '') || ' (step ' || :step || ')', updated_at = datetime(coalesce(updated_at, '2025-01-01'), '+' || :step || ' days')`,
      cascade: ['qe_pattern_embeddings', 'pattern_id'],
    },
    { table: 'kv_store', keyColumns: ['key'], update: `value = json_object('step', :step, 'was', substr(value, 1, 40))` },
    { table: 'qe_pattern_usage', keyColumns: [], autoId: 'id', update: null, appendOnly: true },
    { table: 'rl_q_values', keyColumns: ['id', 'state_key'], update: `q_value = q_value + 0.125, visits = visits + 1, updated_at = datetime(coalesce(updated_at, '2025-01-01'), '+' || :step || ' days')` },
  ],
  '.agentic-qe/memory.db': [
    { table: 'memory_entries', keyColumns: ['key'], update: `value = json_object('step', :step, 'was', substr(value, 1, 40))` },
    { table: 'events', keyColumns: ['id'], update: null },
    { table: 'learning_experiences', keyColumns: [], autoId: 'id', update: null, appendOnly: true },
    { table: 'patterns', keyColumns: ['id', 'pattern'], update: `confidence = min(1.0, confidence + 0.02), usage_count = usage_count + 1` },
  ],
  '.swarm/memory.db': [
    { table: 'memory_entries', keyColumns: ['key'], autoId: 'id', update: `value = json_object('step', :step), updated_at = updated_at + 100 * :step, access_count = access_count + 1` },
  ],
};

function columnsOf(db: Database.Database, table: string): string[] {
  return (db.prepare(`PRAGMA table_info("${table}")`).all() as { name: string }[]).map((c) => c.name);
}

function editSqlite(root: string, file: string, step: number, label: string, rnd: () => number, rates: EvolveRates, out: EvolveStep): void {
  const db = new Database(join(root, file));
  try {
    db.transaction(() => {
      for (const edit of EDITS[file] ?? []) {
        const cols = columnsOf(db, edit.table);
        const ids = (db.prepare(`SELECT rowid AS r FROM "${edit.table}" ORDER BY rowid`).all() as { r: number }[]).map((x) => x.r);
        const toUpdate: number[] = [];
        const toDelete: number[] = [];
        const toClone: number[] = [];
        for (const id of ids) {
          const r = rnd();
          if (!edit.appendOnly && edit.update !== null && r < rates.update) toUpdate.push(id);
          else if (!edit.appendOnly && r < rates.update + rates.delete) toDelete.push(id);
          if (rnd() < rates.insert) toClone.push(id);
        }
        const counts = { updated: 0, deleted: 0, inserted: 0 };
        // clones first (from rows as they were), then updates, then deletes
        const cloneCols = cols.filter((c) => c !== edit.autoId);
        const select = cloneCols.map((c) => (edit.keyColumns.includes(c) ? `"${c}" || :suffix` : `"${c}"`)).join(', ');
        const clone = db.prepare(`INSERT OR IGNORE INTO "${edit.table}" (${cloneCols.map((c) => `"${c}"`).join(', ')}) SELECT ${select} FROM "${edit.table}" WHERE rowid = :rowid`);
        for (const [i, rowid] of toClone.entries()) counts.inserted += clone.run({ rowid, ...(edit.keyColumns.length ? { suffix: `-${label}-${i}` } : {}) }).changes;
        if (edit.update !== null) {
          const update = db.prepare(`UPDATE "${edit.table}" SET ${edit.update} WHERE rowid = :rowid`);
          for (const rowid of toUpdate) counts.updated += update.run({ rowid, step }).changes;
        }
        const keyCol = edit.keyColumns[0];
        const cascade = edit.cascade && keyCol ? db.prepare(`DELETE FROM "${edit.cascade[0]}" WHERE "${edit.cascade[1]}" = (SELECT "${keyCol}" FROM "${edit.table}" WHERE rowid = ?)`) : null;
        const del = db.prepare(`DELETE FROM "${edit.table}" WHERE rowid = ?`);
        for (const rowid of toDelete) {
          cascade?.run(rowid);
          counts.deleted += del.run(rowid).changes;
        }
        out.perTable[`${file}:${edit.table}`] = counts;
        out.updated += counts.updated;
        out.deleted += counts.deleted;
        out.inserted += counts.inserted;
      }
    })();
  } finally {
    db.close();
  }
}

interface StoreEntry {
  key: string;
  value: unknown;
  accessCount?: number;
  lastAccessed?: string;
  [k: string]: unknown;
}

async function editStoreJson(path: string, step: number, label: string, rnd: () => number, rates: EvolveRates, out: EvolveStep): Promise<void> {
  const doc = JSON.parse(await readFile(path, 'utf8')) as { entries: Record<string, StoreEntry> };
  const counts = { updated: 0, deleted: 0, inserted: 0 };
  const entries: Record<string, StoreEntry> = {};
  const added: Record<string, StoreEntry> = {};
  for (const [key, entry] of Object.entries(doc.entries)) {
    const r = rnd();
    if (rnd() < rates.insert) {
      const k = `${key}-${label}`;
      added[k] = { ...entry, key: k, value: { copiedFrom: key, step } };
      counts.inserted++;
    }
    if (r < rates.update) {
      const last = Date.parse(entry.lastAccessed ?? '2025-01-01T00:00:00.000Z');
      entries[key] = { ...entry, value: { step, was: entry.value }, accessCount: (entry.accessCount ?? 0) + 1, lastAccessed: new Date(last + step * 86_400_000).toISOString() };
      counts.updated++;
    } else if (r < rates.update + rates.delete) {
      counts.deleted++;
    } else {
      entries[key] = entry;
    }
  }
  doc.entries = { ...entries, ...added };
  await writeFile(path, `${JSON.stringify(doc, null, 2)}\n`);
  out.perTable['.claude-flow/memory/store.json:entries'] = counts;
  out.updated += counts.updated;
  out.deleted += counts.deleted;
  out.inserted += counts.inserted;
}

/**
 * Builds a workspace (the shared builder) under `<dir>/ws` that `evolve(n)` changes step by step.
 *
 * @example const ws = await buildEvolvingWorkspace(tmp, { volume: 'plan', seed: 11 }); await ws.evolve(1); // push again
 */
export async function buildEvolvingWorkspace(
  dir: string,
  options: { volume?: 'small' | 'plan'; seed?: number; rates?: EvolveRates; grow?: number } = {},
): Promise<EvolvingWorkspace> {
  const root = join(dir, 'ws');
  const seed = options.seed ?? 1;
  const rates = options.rates ?? DEFAULT_RATES;
  const built = await buildWorkspace(root, { volume: options.volume ?? 'plan', seed });
  for (const f of built.files.filter((p) => p.startsWith('v2/data/ruvector-patterns.db'))) await rm(join(root, f));
  const apply = async (n: number, label: string, r: EvolveRates): Promise<EvolveStep> => {
    const rnd = seededRandom(seed * 7919 + n);
    const out: EvolveStep = { step: n, updated: 0, deleted: 0, inserted: 0, perTable: {} };
    for (const file of Object.keys(EDITS)) editSqlite(root, file, n, label, rnd, r, out);
    await editStoreJson(join(root, '.claude-flow/memory/store.json'), n, label, rnd, r, out);
    return out;
  };
  // every row of the edited tables cloned once per round: a workspace between `small` and `plan`
  for (let g = 1; g <= (options.grow ?? 0); g++) await apply(-g, `g${g}`, { update: 0, delete: 0, insert: 1 });
  return {
    root,
    built,
    evolve: (n: number) => apply(n, `s${n}`, rates),
    close: () => built.close(),
  };
}
