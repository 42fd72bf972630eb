// Sample workspace: what every source generator shares: the volumes, a seeded generator (no
// Date.now(), so output depends on the seed only), the timestamp encodings of SOURCES.md, and SQLite
// helpers.
import { mkdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { catalogueEntry } from '../../../schema/sources/catalogue.js';

export type Volume = 'small' | 'plan';
export type Row = Record<string, unknown>;

export const SIZES = {
  small: {
    qePatterns: 6, usage: 8, qeTrajectories: 3, sona: 4, rlQ: 6, goals: 2, goapActions: 4, goapPlans: 3, steps: 5,
    kv: 8, vectors: 3, embeddings: 4, captured: 3, dream: 2,
    memoryEntries: 16, events: 6, rootPatterns: 5, learning: 5, rootGoapActions: 4, rootGoapPlans: 2, qValues: 5, perf: 4,
    swarmMemory: 6, swarmPatterns: 3, trajectoriesTask: 2,
    storeEntries: 6, workers: 3, samples: 3,
    intelPatterns: 5, memories: 6, trajectories: 8, errors: 2, fileSeq: 3, agents: 2, edges: 3,
    redb: 5,
  },
  plan: {
    qePatterns: 1100, usage: 1800, qeTrajectories: 150, sona: 68, rlQ: 420, goals: 20, goapActions: 60, goapPlans: 40,
    steps: 160, kv: 320, vectors: 90, embeddings: 240, captured: 180, dream: 35,
    memoryEntries: 2060, events: 1082, rootPatterns: 310, learning: 665, rootGoapActions: 45, rootGoapPlans: 28,
    qValues: 520, perf: 400,
    swarmMemory: 82, swarmPatterns: 40, trajectoriesTask: 30,
    storeEntries: 320, workers: 10, samples: 480,
    intelPatterns: 420, memories: 622, trajectories: 1000, errors: 24, fileSeq: 60, agents: 12, edges: 80,
    redb: 220,
  },
} as const satisfies Record<Volume, Record<string, number>>;

export type Sizes = (typeof SIZES)[Volume];

/** A fixed epoch for generated timestamps (2025-01-06T00:00:00Z): no `Date.now()`, so output depends on the seed only. */
export const BASE_S = 1_736_121_600;
export const SPAN_S = 90 * 86_400;

/** A vector as the tools store it: Float32 little-endian, 4 bytes per value. */
export function float32Blob(vec: readonly number[]): Buffer {
  const buf = Buffer.alloc(vec.length * 4);
  for (let i = 0; i < vec.length; i++) buf.writeFloatLE(vec[i] ?? 0, i * 4);
  return buf;
}

/** The catalogue's first default path of a source. */
export function sourcePath(id: string): string {
  const entry = catalogueEntry(id);
  const path = entry?.paths[0];
  if (!path) throw new Error(`catalogue has no default path for source "${id}"`);
  return path;
}

export async function writeFileEnsuringDir(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

// ---------------------------------------------------------------------------------------------
// Deterministic generation

/** mulberry32: tiny, fast, good enough for fixtures. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  round(v: number, digits = 4): number {
    const f = 10 ** digits;
    return Math.round(v * f) / f;
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(this.next() * 16).toString(16);
    return s;
  }
  uuid(): string {
    const h = this.hex(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
  /** A unit vector (what a hash embedding looks like). */
  unitVector(dims: number): number[] {
    const v: number[] = [];
    let norm = 0;
    for (let i = 0; i < dims; i++) {
      const x = this.next() * 2 - 1;
      v.push(x);
      norm += x * x;
    }
    norm = Math.sqrt(norm) || 1;
    return v.map((x) => x / norm);
  }
  /** A Unix time in seconds inside the fixture window. */
  seconds(): number {
    return BASE_S + Math.floor(this.next() * SPAN_S);
  }
}

// The five timestamp encodings of SOURCES.md, from Unix seconds (+ optional ms part).
export const enc = {
  ms: (s: number, rng: Rng) => s * 1000 + rng.int(0, 999),
  msWholeSecond: (s: number) => s * 1000,
  seconds: (s: number) => s,
  sqliteText: (s: number) => new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' '),
  iso: (s: number, rng: Rng) => new Date(s * 1000 + rng.int(0, 999)).toISOString(),
  /** The buggy migration: milliseconds read as seconds gives years like +056984. */
  isoExtendedYear: (s: number) => new Date(s * 1000 * 1000).toISOString(),
};

export const QE_DOMAINS = [
  'test-generation', 'test-execution', 'coverage-analysis', 'quality-assessment', 'defect-intelligence',
  'requirements-validation', 'code-intelligence', 'security-compliance', 'contract-testing',
  'visual-accessibility', 'chaos-resilience', 'learning-optimization',
] as const;
export const PATTERN_TYPES = ['test-template', 'assertion-pattern', 'mock-pattern', 'coverage-strategy', 'flaky-fix', 'refactor-safe'] as const;
export const AGENTS = ['qe-test-generator', 'qe-coverage-analyzer', 'qe-flaky-hunter', 'qe-security-scanner', 'qe-quality-gate', 'qe-api-contract-validator', 'coder', 'reviewer', 'tester'] as const;
export const WORDS = ['jest', 'vitest', 'mock', 'async', 'boundary', 'null', 'retry', 'timeout', 'snapshot', 'fixture', 'contract', 'coverage', 'branch', 'mutation', 'flaky', 'race', 'api', 'auth', 'cache', 'parser'] as const;
export const FILES = ['src/index.ts', 'src/auth/login.ts', 'src/api/routes.ts', 'src/db/pool.ts', 'tests/auth.test.ts', 'src/utils/retry.ts', 'README.md', 'package.json'] as const;

export function sentence(rng: Rng, n = 6): string {
  const w: string[] = [];
  for (let i = 0; i < n; i++) w.push(rng.pick(WORDS));
  return w.join(' ');
}

// ---------------------------------------------------------------------------------------------
// SQLite helpers

/** Inserts rows through one prepared statement (columns = the union of the rows' keys) and returns the count. */
export function insertAll(db: Database.Database, table: string, rows: readonly Row[]): number {
  if (rows.length === 0) return 0;
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const stmt = db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`);
  for (const r of rows) stmt.run(cols.map((c) => r[c] ?? null));
  return rows.length;
}

export function openFresh(path: string, journal: 'wal' | 'delete'): Database.Database {
  const db = new Database(path);
  db.pragma(journal === 'wal' ? 'journal_mode = WAL' : 'journal_mode = DELETE');
  return db;
}


/** better-sqlite3 does not create parent folders. */
export function mkdirSyncP(path: string): void {
  mkdirSync(path, { recursive: true });
}
