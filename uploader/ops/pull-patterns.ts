// `pull` as a library: QE patterns learned in other environments (their cross-environment
// consensus) written into the local agentic-qe v3 runtime database, in the tool's own schema:
// the columns of its qe_patterns table are discovered (PRAGMA table_info), never assumed.
// Safety: a consistent backup first; one IMMEDIATE transaction with a bounded wait for the tool's
// write lock; the tool's own rows are never touched (a pattern it already knows is skipped);
// provenance in a table of ours (aqe_sync_pulled) inside the same transaction, so a pull added
// once is never added again. Pulled rows get ids 'aqe-pull-<key>', which the consensus views
// leave out when the workspace pushes them back (no double counting).

import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import type { Queryable } from '../../functions/db/database.js';
import { consensusForPull, type PullCandidate } from '../../functions/ops/consensus.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import { copySqliteConsistently } from '../snapshot/sqlite-snapshot.js';

/** The tables `pull` can write (the v3 runtime database's). */
export const PULLABLE_TABLES = ['qe_patterns'] as const;
export const V3_DB_PATH = 'v3/.agentic-qe/memory.db';
export const PULLED_ID_PREFIX = 'aqe-pull-';
const PROVENANCE_TABLE = 'aqe_sync_pulled';

export interface PullOptions {
  db: Queryable;
  workspace: string;
  /** The workspace's own environment: never pulled from. */
  localEnv: string;
  /** Environments to pull from; null = every other one. */
  fromEnvs: readonly string[] | null;
  domain?: string;
  dryRun?: boolean;
  /** How long to wait for the tool's write lock (default 5000 ms). */
  lockTimeoutMs?: number;
  now?: Date;
}

export interface PullResult {
  database: string;
  dryRun: boolean;
  backup: string | null;
  fromEnvs: string[] | 'all';
  candidates: number;
  added: Array<{ id: string; name: string | null; environments: string[] }>;
  /** incomplete: the cloud lacks a value the local schema requires (NOT NULL, no default). */
  skipped: { knownLocally: number; alreadyPulled: number; incomplete: number };
  /** Local columns written, and local columns left to their defaults. */
  columns: { written: string[]; defaulted: string[] };
}

interface LocalColumn {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}

/**
 * Pulls patterns into `<workspace>/v3/.agentic-qe/memory.db`.
 * @example const r = await pullPatterns({ db, workspace: '/home/me/project', localEnv: 'laptop', fromEnvs: null });
 */
export async function pullPatterns(options: PullOptions): Promise<PullResult> {
  const path = join(options.workspace, V3_DB_PATH);
  if (!existsSync(path)) {
    throw new AppError('USAGE', `${V3_DB_PATH}: not found in ${options.workspace}; pull writes into the agentic-qe v3 runtime database, which the tool creates on first use\nTry: aqe-upload pull --workspace <project folder>`);
  }
  const lockTimeoutMs = options.lockTimeoutMs ?? 5000;
  const local = new Sqlite(path, { fileMustExist: true, timeout: lockTimeoutMs });
  try {
    const columns = local.prepare('PRAGMA table_info(qe_patterns)').all() as LocalColumn[];
    const plan = planColumns(columns);
    const candidates = await consensusForPull(options.db, { envs: options.fromEnvs, excludeEnv: options.localEnv, ...(options.domain ? { domain: options.domain } : {}) });

    // What the local tool already knows (its own rows) and what an earlier pull added.
    const known = new Set<string>();
    const has = (c: string) => columns.some((x) => x.name === c);
    const sel = ['id', has('pattern_type') ? 'pattern_type' : 'NULL AS pattern_type', has('qe_domain') ? 'qe_domain' : 'NULL AS qe_domain', has('domain') ? 'domain' : 'NULL AS domain', 'name'];
    for (const r of local.prepare(`SELECT ${sel.join(', ')} FROM qe_patterns WHERE id NOT LIKE '${PULLED_ID_PREFIX}%'`).iterate() as Iterable<Record<string, unknown>>) {
      known.add(identity(r['pattern_type'], r['qe_domain'] ?? r['domain'], r['name']));
    }
    const pulledIds = new Set((local.prepare(`SELECT id FROM qe_patterns WHERE id LIKE '${PULLED_ID_PREFIX}%'`).all() as Array<{ id: string }>).map((r) => r.id));
    const provenanceExists = local.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(PROVENANCE_TABLE) !== undefined;
    const pulledKeys = new Set(provenanceExists ? (local.prepare(`SELECT pattern_key FROM ${PROVENANCE_TABLE}`).all() as Array<{ pattern_key: string }>).map((r) => r.pattern_key) : []);

    let knownLocally = 0;
    let alreadyPulled = 0;
    let incomplete = 0;
    const toAdd: Array<{ id: string; c: PullCandidate }> = [];
    for (const c of candidates) {
      const id = `${PULLED_ID_PREFIX}${c.patternKey.slice(0, 24)}`;
      if (pulledKeys.has(c.patternKey) || pulledIds.has(id)) alreadyPulled++;
      else if (known.has(identity(c.patternType, c.qeDomain, c.name))) knownLocally++;
      else if (plan.written.some((col) => plan.required.has(col) && plan.value(col, id, c) === null)) incomplete++;
      else toAdd.push({ id, c });
    }
    const result: PullResult = {
      database: path,
      dryRun: options.dryRun === true,
      backup: null,
      fromEnvs: options.fromEnvs ? [...options.fromEnvs] : 'all',
      candidates: candidates.length,
      added: toAdd.map(({ id, c }) => ({ id, name: c.name, environments: c.environments })),
      skipped: { knownLocally, alreadyPulled, incomplete },
      columns: { written: plan.written, defaulted: plan.defaulted },
    };
    if (options.dryRun || toAdd.length === 0) return result;

    // a consistent copy of the whole file before the first write
    const stamp = (options.now ?? new Date()).toISOString().replace(/[:.]/g, '-');
    const backupDir = join(options.workspace, '.aqe-sync', 'backups');
    await mkdir(backupDir, { recursive: true });
    const backup = join(backupDir, `memory.db.${stamp}.before-pull`);
    await copySqliteConsistently(path, backup, V3_DB_PATH);
    result.backup = backup;

    const insertCols = plan.written;
    const insert = local.prepare(`INSERT INTO qe_patterns (${insertCols.map(q).join(', ')}) VALUES (${insertCols.map(() => '?').join(', ')})`);
    try {
      local.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw lockError(err, lockTimeoutMs);
    }
    try {
      local.exec(`CREATE TABLE IF NOT EXISTS ${PROVENANCE_TABLE} (
        pattern_key TEXT PRIMARY KEY, local_table TEXT NOT NULL, local_id TEXT NOT NULL, from_envs TEXT NOT NULL, origins TEXT NOT NULL,
        confidence REAL, success_rate REAL, usage_count INTEGER, pulled_at TEXT NOT NULL, tool TEXT NOT NULL)`);
      const prov = local.prepare(`INSERT INTO ${PROVENANCE_TABLE} VALUES (?, 'qe_patterns', ?, ?, ?, ?, ?, ?, ?, 'aqe-upload pull')`);
      const pulledAt = (options.now ?? new Date()).toISOString();
      for (const { id, c } of toAdd) {
        insert.run(...insertCols.map((col) => plan.value(col, id, c)));
        prov.run(c.patternKey, id, JSON.stringify(c.environments), JSON.stringify(c.origins), c.confidence, c.successRate, c.usageCount, pulledAt);
      }
      local.exec('COMMIT');
    } catch (err) {
      if (local.inTransaction) local.exec('ROLLBACK');
      throw new AppError('SOURCE_UNREADABLE', `${V3_DB_PATH}: the pull was rolled back, nothing was written (${errorMessage(err)}); the backup is ${backup}`, { cause: err });
    }
    return result;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw lockError(err, lockTimeoutMs);
  } finally {
    local.close();
  }
}

const q = (c: string) => `"${c.replaceAll('"', '""')}"`;

function identity(type: unknown, domain: unknown, name: unknown): string {
  return `${String(type ?? '')}\u001f${String(domain ?? '')}\u001f${String(name ?? '').trim().toLowerCase()}`;
}

function lockError(err: unknown, timeoutMs: number): AppError {
  const code = (err as { code?: string }).code ?? '';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new AppError('DB_CONFLICT', `${V3_DB_PATH}: agentic-qe held its write lock for more than ${timeoutMs} ms, so nothing was pulled; try again when the tool is idle, or wait longer with --lock-timeout <seconds>`, {
      cause: err,
      transient: true,
    });
  }
  return err instanceof AppError ? err : new AppError('SOURCE_UNREADABLE', `${V3_DB_PATH}: ${errorMessage(err)}`, { cause: err });
}

/** Values the cloud has for a local column name (the tool's names, as the loader's mapping reads them). */
const FROM_CONSENSUS: Record<string, (c: PullCandidate) => unknown> = {
  pattern_type: (c) => c.patternType,
  qe_domain: (c) => c.qeDomain,
  domain: (c) => c.domain,
  name: (c) => c.name,
  description: (c) => c.description,
  confidence: (c) => c.confidence,
  usage_count: (c) => c.usageCount,
  success_rate: (c) => c.successRate,
  quality_score: (c) => c.qualityScore,
  tier: (c) => c.tier,
  template_json: (c) => c.template,
  template: (c) => c.template,
  context_json: (c) => c.context,
  context: (c) => c.context,
  successful_uses: (c) => c.successfulUses,
  created_at: (c) => c.createdAt,
  updated_at: (c) => c.updatedAt,
  last_used_at: (c) => c.lastUsedAt,
};
const TIME_COLUMNS = new Set(['created_at', 'updated_at', 'last_used_at']);
const JSON_COLUMNS = new Set(['template_json', 'template', 'context_json', 'context']);

interface ColumnPlan {
  written: string[];
  /** NOT NULL columns without a default. */
  required: ReadonlySet<string>;
  defaulted: string[];
  value(column: string, id: string, c: PullCandidate): unknown;
}

/** Decides, from the discovered local columns, what is written and how; refuses what cannot be filled. */
function planColumns(columns: readonly LocalColumn[]): ColumnPlan {
  if (columns.length === 0) {
    throw new AppError('DB_SCHEMA', `${V3_DB_PATH} has no qe_patterns table: this agentic-qe version does not store QE patterns there, so there is nothing to pull into\nTry: aqe-upload patterns --consensus   (to see them without writing)`);
  }
  const byName = new Map(columns.map((c) => [c.name, c]));
  const lacking = ['id', 'name'].filter((c) => !byName.has(c));
  if (lacking.length > 0) {
    throw new AppError('DB_SCHEMA', `${V3_DB_PATH}: qe_patterns lacks the column(s) ${lacking.join(', ')} that pull needs (found: ${columns.map((c) => c.name).join(', ')}); nothing was written`);
  }
  const written: string[] = [];
  const defaulted: string[] = [];
  const unfillable: string[] = [];
  for (const col of columns) {
    if (col.name === 'id' || col.name in FROM_CONSENSUS) written.push(col.name);
    else if (col.notnull === 1 && col.dflt_value === null) unfillable.push(col.name);
    else written.push(col.name); // from the winning row's unmodelled source columns when it has them, else NULL/default below
  }
  if (unfillable.length > 0) {
    throw new AppError('DB_SCHEMA', `${V3_DB_PATH}: qe_patterns requires ${unfillable.join(', ')} (NOT NULL, no default), which the cloud does not hold; nothing was written`);
  }
  // Columns neither modelled nor required are written only when the winning row carries them; a
  // column with a default otherwise keeps it, which a static column list cannot express: leave
  // every non-modelled column with a default to its default, and write the others from `extra`.
  const finalWritten = written.filter((n) => n === 'id' || n in FROM_CONSENSUS || byName.get(n)!.dflt_value === null);
  for (const n of written) if (!finalWritten.includes(n)) defaulted.push(n);
  return {
    written: finalWritten,
    required: new Set(columns.filter((c) => c.notnull === 1 && c.dflt_value === null).map((c) => c.name)),
    defaulted,
    value(column, id, c) {
      if (column === 'id') return id;
      const col = byName.get(column)!;
      const from = FROM_CONSENSUS[column];
      const v = from ? from(c) : (c.extra?.[column] ?? null);
      return encode(v, col, TIME_COLUMNS.has(column), JSON_COLUMNS.has(column) || /json/i.test(col.type));
    },
  };
}

/** A value in the local column's own encoding (declared type and default tell which). */
function encode(v: unknown, col: LocalColumn, time: boolean, json: boolean): unknown {
  if (v === null || v === undefined) {
    // a NOT NULL column with a default: let the default apply by writing what it would produce
    if (col.notnull === 1 && col.dflt_value !== null) return defaultValue(col);
    return null;
  }
  if (time) {
    const d = new Date(String(v));
    if (Number.isNaN(d.getTime())) return String(v);
    if (/INT/i.test(col.type)) return d.getTime();
    if (/datetime\(|CURRENT_TIMESTAMP/i.test(col.dflt_value ?? '')) return d.toISOString().slice(0, 19).replace('T', ' ');
    return d.toISOString();
  }
  if (json) return typeof v === 'string' ? v : JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'object') {
    const b64 = (v as { $base64?: unknown }).$base64;
    return typeof b64 === 'string' ? Buffer.from(b64, 'base64') : JSON.stringify(v);
  }
  return v;
}

function defaultValue(col: LocalColumn): unknown {
  const d = col.dflt_value ?? '';
  if (/datetime\(|CURRENT_TIMESTAMP/i.test(d)) return new Date().toISOString().slice(0, 19).replace('T', ' ');
  if (/^-?\d+(\.\d+)?$/.test(d)) return Number(d);
  const m = /^'(.*)'$/s.exec(d);
  return m ? m[1]!.replaceAll("''", "'") : null;
}
