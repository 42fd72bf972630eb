// `verify` as a library: a fresh consistent snapshot of each local source, read by the loader's
// own readers (so content hashes are computed exactly as the loader computed them), compared per
// (source, target table) with the rows the cloud holds for the environment (present rows only):
// rows missing from the cloud, extra in the cloud, and different (same key, other content hash).

import { join } from 'node:path';
import type { Queryable } from '../../functions/db/database.js';
import { quoteIdent, storedHashHex } from '../../functions/db/copy-encoding.js';
import { readSnapshotSource } from '../../functions/loader/read/read-snapshot-source.js';
import { TARGET_TABLES } from '../../schema/tables/target-tables.js';
import type { UploaderConfig } from '../config.js';
import { captureFile, withTempDir } from '../snapshot/capture.js';
import { discoverSources } from '../workspace/discover.js';

export interface VerifyKeys {
  missing: string[];
  extra: string[];
  different: string[];
}

export interface VerifyPair {
  sourceId: string;
  table: string;
  /** Rows in the local source now. */
  local: number;
  /** Present rows in the cloud (rows marked missing_since are not counted). */
  cloud: number;
  /** In the local source, not in the cloud. */
  missing: number;
  /** In the cloud, no longer in the local source. */
  extra: number;
  /** Same key, different content hash. */
  different: number;
  equal: boolean;
  /**
   * The local read of this pair stopped short (a redb file read only in part): its rows are not
   * compared, the pair says "incomplete read" (never "different") and does not count as differing.
   */
  incomplete?: boolean;
  /** `<source table>/<source key>` per kind (with details). */
  keys?: VerifyKeys;
}

export interface VerifyResult {
  env: string;
  equal: boolean;
  pairs: VerifyPair[];
  /** Local sources that could not be read: not compared (never reported as differences). */
  problems: Array<{ sourceId: string; path: string; reason: string }>;
  totals: { pairs: number; differingPairs: number; missing: number; extra: number; different: number };
}

export interface VerifyOptions {
  config: Pick<UploaderConfig, 'workspace' | 'env' | 'sources' | 'exclude'>;
  db: Queryable;
  details?: boolean;
  /** Keys listed per kind and pair with details (default 1000). */
  maxKeys?: number;
  sourceIds?: readonly string[];
  tables?: readonly string[];
}

const SEP = '\u0000';
// COPY cannot carry NUL: the loader strips it from keys, so the comparison does too.
const stripNul = (s: string) => (s.includes('\u0000') ? s.replaceAll('\u0000', '') : s);

/**
 * Compares the workspace with the cloud rows of `config.env`.
 * @example const r = await verifyWorkspace({ config, db, details: true }); if (!r.equal) console.log(r.pairs.filter((p) => !p.equal))
 */
export async function verifyWorkspace(options: VerifyOptions): Promise<VerifyResult> {
  const { config, db } = options;
  const maxKeys = options.maxKeys ?? 1000;
  const wantSource = (id: string) => !options.sourceIds || options.sourceIds.includes(id);
  const wantTable = (t: string) => !options.tables || options.tables.includes(t);

  const discovered = await discoverSources(config);
  const problems: VerifyResult['problems'] = [];
  const skipIds = new Set<string>();
  const localIds = new Set(discovered.filter((f) => f.state !== 'excluded' && f.state !== 'disabled').map((f) => f.sourceId));
  // A source left out on purpose locally is not compared (its cloud rows are not "extra").
  for (const f of discovered) if ((f.state === 'excluded' || f.state === 'disabled') && !localIds.has(f.sourceId)) skipIds.add(f.sourceId);

  const local = new Map<string, Map<string, string>>();
  const incomplete = new Map<string, string>();
  await withTempDir(async (dir) => {
    for (const [i, file] of discovered.entries()) {
      if (file.state !== 'present' || !wantSource(file.sourceId)) continue;
      const outcome = await captureFile(file, join(dir, `${i}.copy`));
      if (outcome.status === 'failed') {
        problems.push({ sourceId: file.sourceId, path: file.path, reason: outcome.reason });
        skipIds.add(file.sourceId);
        continue;
      }
      try {
        const reader = readSnapshotSource({ sourceId: file.sourceId, path: file.path, format: file.format }, outcome.tempPath);
        try {
          for (const target of reader.targetTables()) {
            if (!wantTable(target)) continue;
            const pairKey = `${file.sourceId}${SEP}${target}`;
            const rows = local.get(pairKey) ?? new Map<string, string>();
            local.set(pairKey, rows);
            // the loader keeps the last row of a key given twice: so does this map
            for await (const row of reader.rows(target)) rows.set(`${stripNul(row.sourceTable)}/${stripNul(row.sourceKey)}`, storedHashHex(row.contentHash));
            if (reader.parts.some((p) => p.targetTable === target && !p.complete())) {
              const why = reader.warnings.find((w) => w.kind === 'source')?.message ?? 'the reader stopped before the end';
              incomplete.set(pairKey, why);
              problems.push({ sourceId: file.sourceId, path: file.path, reason: `incomplete read of ${target}: ${why}` });
            }
          }
        } finally {
          reader.close();
        }
      } catch (err) {
        problems.push({ sourceId: file.sourceId, path: file.path, reason: err instanceof Error ? err.message : String(err) });
        skipIds.add(file.sourceId);
      }
    }
  });

  const cloud = new Map<string, Map<string, string>>();
  for (const t of TARGET_TABLES) {
    if (!wantTable(t.name)) continue;
    const res = await db.query<{ source_id: string; k: string; h: string }>(
      `SELECT source_id, source_table || '/' || source_key AS k, encode(content_hash, 'hex') AS h FROM aqe.${quoteIdent(t.name)} WHERE source_env = $1 AND missing_since IS NULL`,
      [config.env],
    );
    for (const r of res.rows) {
      if (!wantSource(r.source_id)) continue;
      const pairKey = `${r.source_id}${SEP}${t.name}`;
      const rows = cloud.get(pairKey) ?? new Map<string, string>();
      cloud.set(pairKey, rows);
      rows.set(r.k, r.h);
    }
  }

  const pairs: VerifyPair[] = [];
  for (const pairKey of [...new Set([...local.keys(), ...cloud.keys()])].sort()) {
    const [sourceId = '', table = ''] = pairKey.split(SEP);
    if (skipIds.has(sourceId)) continue;
    const l = local.get(pairKey) ?? new Map<string, string>();
    const c = cloud.get(pairKey) ?? new Map<string, string>();
    if (incomplete.has(pairKey)) {
      pairs.push({ sourceId, table, local: l.size, cloud: c.size, missing: 0, extra: 0, different: 0, equal: false, incomplete: true });
      continue;
    }
    const keys: VerifyKeys = { missing: [], extra: [], different: [] };
    let missing = 0;
    let extra = 0;
    let different = 0;
    for (const [k, h] of l) {
      const ch = c.get(k);
      if (ch === undefined) {
        missing++;
        if (keys.missing.length < maxKeys) keys.missing.push(k);
      } else if (ch !== h) {
        different++;
        if (keys.different.length < maxKeys) keys.different.push(k);
      }
    }
    for (const k of c.keys()) {
      if (!l.has(k)) {
        extra++;
        if (keys.extra.length < maxKeys) keys.extra.push(k);
      }
    }
    const equal = missing === 0 && extra === 0 && different === 0;
    for (const list of Object.values(keys)) list.sort();
    pairs.push({ sourceId, table, local: l.size, cloud: c.size, missing, extra, different, equal, ...(options.details ? { keys } : {}) });
  }
  const differing = pairs.filter((p) => !p.equal && !p.incomplete);
  return {
    env: config.env,
    equal: differing.length === 0,
    pairs,
    problems,
    totals: {
      pairs: pairs.length,
      differingPairs: differing.length,
      missing: differing.reduce((a, p) => a + p.missing, 0),
      extra: differing.reduce((a, p) => a + p.extra, 0),
      different: differing.reduce((a, p) => a + p.different, 0),
    },
  };
}
