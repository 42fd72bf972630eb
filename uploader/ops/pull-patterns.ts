// `pull` as a library: QE patterns learned in other environments (their cross-environment
// consensus) written into the local agentic-qe v3 runtime database, in the tool's own schema:
// the columns of its qe_patterns table are discovered (PRAGMA table_info), never assumed.
// Safety: a consistent backup first; one IMMEDIATE transaction with a bounded wait for the tool's
// write lock; the tool's own rows are never touched (a pattern it already knows is skipped);
// provenance in a table of ours (aqe_sync_pulled) inside the same transaction, so a pull added
// once is never added again. Pulled rows get ids 'aqe-pull-<key>'; the loader never publishes
// them as the pulling environment's own (sqlite-source.ts). Each pulled pattern also gets the
// qe_pattern_embeddings row its source environment's agentic-qe made (same model, dimension,
// space), so the tool's own semantic search finds it; never a vector of another model. A pull
// that writes nothing leaves no backup; older backups are rotated (keep the newest N).

import { mkdir, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import type { Queryable } from '../../functions/db/database.js';
import { PULL_PROVENANCE_TABLE, PULLED_ID_PREFIX } from '../../functions/loader/read/sqlite-source.js';
import { consensusForPull, type PullCandidate } from '../../functions/ops/consensus.js';
import { parseVectorText } from '../../functions/search/search.js';
import { AppError, errorMessage } from '../../schema/errors.js';
import { DEFAULT_PULL_KEEP_BACKUPS } from '../config.js';
import { copySqliteConsistently } from '../snapshot/sqlite-snapshot.js';

export { PULLED_ID_PREFIX };

/** The tables `pull` can write (the v3 runtime database's). */
export const PULLABLE_TABLES = ['qe_patterns'] as const;
export const V3_DB_PATH = 'v3/.agentic-qe/memory.db';
const PROVENANCE_TABLE = PULL_PROVENANCE_TABLE;
const BACKUP_SUFFIX = '.before-pull';

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
  /** Backups kept after a pull that wrote (the newest; default 5, AQE_PULL_KEEP_BACKUPS). */
  keepBackups?: number;
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
  /**
   * qe_pattern_embeddings rows written with the patterns (the source environment's own vector),
   * and the patterns that got none, with why (no vector in the cloud, or only another model's).
   */
  embeddings: { written: number; without: Array<{ id: string; name: string | null; reason: string }> };
  /** Older backups removed to keep the newest `keepBackups`. */
  backupsRemoved: string[];
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
    const vectors = await vectorsFor(options.db, local, toAdd);
    const result: PullResult = {
      database: path,
      dryRun: options.dryRun === true,
      backup: null,
      fromEnvs: options.fromEnvs ? [...options.fromEnvs] : 'all',
      candidates: candidates.length,
      added: toAdd.map(({ id, c }) => ({ id, name: c.name, environments: c.environments })),
      skipped: { knownLocally, alreadyPulled, incomplete },
      columns: { written: plan.written, defaulted: plan.defaulted },
      embeddings: { written: vectors.chosen.size, without: vectors.without },
      backupsRemoved: [],
    };
    if (options.dryRun || toAdd.length === 0) return result;

    // a consistent copy of the whole file before the first write
    const stamp = (options.now ?? new Date()).toISOString().replace(/[:.]/g, '-');
    const backupDir = join(options.workspace, '.aqe-sync', 'backups');
    await mkdir(backupDir, { recursive: true });
    const backup = join(backupDir, `memory.db.${stamp}${BACKUP_SUFFIX}`);
    try {
      await copySqliteConsistently(path, backup, V3_DB_PATH);
    } catch (err) {
      await rm(backup, { force: true });
      throw err;
    }
    result.backup = backup;
    const writeEmbedding = vectors.chosen.size > 0 ? embeddingWriter(local) : null;

    const insertCols = plan.written;
    const insert = local.prepare(`INSERT INTO qe_patterns (${insertCols.map(q).join(', ')}) VALUES (${insertCols.map(() => '?').join(', ')})`);
    try {
      local.exec('BEGIN IMMEDIATE');
    } catch (err) {
      // nothing was written: the backup of this pull is not needed
      await rm(backup, { force: true });
      result.backup = null;
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
        const vector = vectors.chosen.get(c.patternKey);
        if (vector && writeEmbedding) writeEmbedding(id, vector);
      }
      local.exec('COMMIT');
    } catch (err) {
      if (local.inTransaction) local.exec('ROLLBACK');
      // rolled back: nothing was written, so the backup of this pull is not needed
      await rm(backup, { force: true });
      throw new AppError('SOURCE_UNREADABLE', `${V3_DB_PATH}: the pull was rolled back, nothing was written (${errorMessage(err)})`, { cause: err });
    }
    result.backupsRemoved = await rotateBackups(backupDir, options.keepBackups ?? DEFAULT_PULL_KEEP_BACKUPS);
    return result;
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw lockError(err, lockTimeoutMs);
  } finally {
    local.close();
  }
}

const q = (c: string) => `"${c.replaceAll('"', '""')}"`;

/** Removes all but the newest `keep` pull backups (names sort by their UTC time stamp); returns the removed paths. */
async function rotateBackups(dir: string, keep: number): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n.startsWith('memory.db.') && n.endsWith(BACKUP_SUFFIX)).sort();
  const old = names.slice(0, Math.max(0, names.length - keep)).map((n) => join(dir, n));
  // with the -wal/-shm a reader of the backup may have left beside it
  for (const f of old) for (const x of [f, `${f}-wal`, `${f}-shm`]) await rm(x, { force: true });
  return old;
}

/** A source environment's own qe_pattern_embeddings row, as it reached the cloud (aqe.source_vectors). */
interface SourceVector {
  vector: number[];
  dimension: number;
  model: string | null;
  spaceId: string | null;
  createdAt: string | null;
  /** Its other columns (source_vectors.extra). */
  extra: Record<string, unknown>;
}

/**
 * The vector to write with each pulled pattern: the qe_pattern_embeddings row one of its origins'
 * agentic-qe made. When the local database already holds vectors of one (model, dimension, space),
 * only a vector of that same space qualifies (another model's vector would poison its index); the
 * patterns left without one are listed with why.
 */
async function vectorsFor(db: Queryable, local: Sqlite.Database, toAdd: ReadonlyArray<{ id: string; c: PullCandidate }>): Promise<{ chosen: Map<string, SourceVector>; without: PullResult['embeddings']['without'] }> {
  const chosen = new Map<string, SourceVector>();
  const without: PullResult['embeddings']['without'] = [];
  const hasTable = local.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'qe_pattern_embeddings'`).get() !== undefined;
  if (!hasTable || toAdd.length === 0) return { chosen, without };
  const cols = new Set((local.prepare('PRAGMA table_info(qe_pattern_embeddings)').all() as Array<{ name: string }>).map((c) => c.name));
  // the space the local tool's vectors live in (when it has any, and only one)
  const spaceSql = `SELECT DISTINCT ${cols.has('model') ? 'model' : 'NULL'} AS model, ${cols.has('dimension') ? 'dimension' : 'NULL'} AS dimension, ${cols.has('space_id') ? 'space_id' : 'NULL'} AS space_id FROM qe_pattern_embeddings WHERE pattern_id NOT LIKE '${PULLED_ID_PREFIX}%'`;
  const spaces = local.prepare(spaceSql).all() as Array<{ model: string | null; dimension: number | null; space_id: string | null }>;
  const localSpace = spaces.length === 1 ? spaces[0]! : null;
  const origins = toAdd.flatMap(({ c }) => c.origins.map((o) => o.split('/')));
  if (origins.length === 0) return { chosen, without };
  const res = await db.query<{ source_env: string; source_id: string; owner_key: string; v: string; dimension: number | null; model: string | null; extra: Record<string, unknown> | null; created_at: string | Date | null }>(
    `SELECT source_env, source_id, owner_key, vector::text AS v, dimension, model, extra, created_at
       FROM aqe.source_vectors
      WHERE source_table = 'qe_pattern_embeddings' AND missing_since IS NULL AND vector IS NOT NULL
        AND (source_env, source_id, owner_key) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[]))`,
    [origins.map((o) => o[0] ?? ''), origins.map((o) => o[1] ?? ''), origins.map((o) => o.slice(2).join('/'))],
  );
  const byOrigin = new Map(res.rows.map((r) => [`${r.source_env}/${r.source_id}/${r.owner_key}`, r]));
  for (const { id, c } of toAdd) {
    const found = c.origins.map((o) => byOrigin.get(o)).filter((r) => r !== undefined);
    const candidates = found.map((r) => {
      const vector = parseVectorText(r.v);
      const extra = r.extra ?? {};
      const spaceId = typeof extra['space_id'] === 'string' ? extra['space_id'] : null;
      const createdAt = r.created_at instanceof Date ? r.created_at.toISOString() : r.created_at;
      return { vector, dimension: r.dimension ?? vector.length, model: r.model, spaceId, createdAt, extra } satisfies SourceVector;
    });
    const fits = (v: SourceVector) => !localSpace || (v.model === localSpace.model && v.dimension === localSpace.dimension && v.spaceId === localSpace.space_id);
    const pick = candidates.find(fits);
    if (pick) chosen.set(c.patternKey, pick);
    else
      without.push({
        id,
        name: c.name,
        reason:
          candidates.length === 0
            ? 'no source environment holds a vector for it (its qe_pattern_embeddings row did not reach the cloud)'
            : `its source vectors are of another model or space than this database's (${candidates.map((v) => `${v.model ?? '?'}/${v.dimension}/${v.spaceId ?? 'no space'}`).join(', ')})`,
      });
  }
  return { chosen, without };
}

/** Writes one qe_pattern_embeddings row in the local schema's own columns (discovered). */
function embeddingWriter(local: Sqlite.Database): (patternId: string, v: SourceVector) => void {
  const info = local.prepare('PRAGMA table_info(qe_pattern_embeddings)').all() as LocalColumn[];
  const names = info.map((c) => c.name);
  const valueOf = (col: LocalColumn, patternId: string, v: SourceVector): unknown => {
    switch (col.name) {
      case 'pattern_id':
        return patternId;
      case 'embedding':
        return Buffer.from(Float32Array.from(v.vector).buffer);
      case 'dimension':
        return v.dimension;
      case 'model':
        return v.model;
      case 'space_id':
        return v.spaceId;
      case 'created_at':
        return encode(v.createdAt, col, true, false);
      default:
        return encode(v.extra[col.name] ?? null, col, false, /json/i.test(col.type));
    }
  };
  // a column the cloud has no value for keeps its default (not written)
  const written = names.filter((n) => ['pattern_id', 'embedding', 'dimension', 'model', 'space_id', 'created_at'].includes(n) || info.find((c) => c.name === n)!.dflt_value === null);
  const stmt = local.prepare(`INSERT OR REPLACE INTO qe_pattern_embeddings (${written.map(q).join(', ')}) VALUES (${written.map(() => '?').join(', ')})`);
  return (patternId, v) => {
    stmt.run(...written.map((n) => valueOf(info.find((c) => c.name === n)!, patternId, v)));
  };
}

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
