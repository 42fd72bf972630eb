// Gives pending rows their embedding after a load (and from reconcile / `aqe-upload embed`):
// pending rows are read in batches, resolved through the cache, the rest embedded within the
// time budget, and written back only if the row's text did not change meanwhile.

import { TARGET_TABLES } from '../../schema/tables/target-tables.js';
import type { Database } from '../db/database.js';
import { embedRows } from './embed-batch.js';
import type { Embedder } from './embedder.js';
import { DEFAULT_MODEL_ID } from './embedder.js';
import { PgEmbeddingCache } from './pg-embedding-cache.js';
import { toVectorLiteral } from './vector-literal.js';

export interface BackfillOptions {
  embedder: Embedder | null;
  /** Why no model is available (quoted in the one warning). */
  unavailableReason?: string;
  budgetMs: number;
  /** Only this environment's rows (a load backfills its own environment first). */
  env?: string;
  tables?: readonly string[];
  batchSize?: number;
  /**
   * Embed again, with this model, the rows whose vectors another model made (another label: a
   * stand-in, an unverified older label): search compares only vectors of one model.
   */
  reembed?: boolean;
  onProgress?: (p: { table: string; embedded: number; pending: number }) => void;
}

export interface BackfillResult {
  embedded: number;
  cacheHits: number;
  inferences: number;
  /** Rows still pending afterwards (budget used up, or no model). */
  pending: number;
  budgetExhausted: boolean;
  warning: string | null;
  /** Rows set to pending again by `reembed` (their vectors came from another model). */
  requeued?: number;
}

interface PendingRow {
  source_env: string;
  source_id: string;
  source_table: string;
  source_key: string;
  search_text: string;
  embedding_text_hash: string;
}

/** Fills pending embeddings; safe to run concurrently with loads (guarded by the text hash). */
export async function backfillEmbeddings(db: Database, options: BackfillOptions): Promise<BackfillResult> {
  const started = performance.now();
  const cache = new PgEmbeddingCache(db);
  const cast = db.dialect.castText('v.vec');
  const batch = options.batchSize ?? 256;
  const tables = TARGET_TABLES.filter((t) => t.embedded && (!options.tables || options.tables.includes(t.name)));
  const result: BackfillResult = { embedded: 0, cacheHits: 0, inferences: 0, pending: 0, budgetExhausted: false, warning: null };
  const model = options.embedder?.modelId ?? DEFAULT_MODEL_ID;
  if (options.reembed && options.embedder) {
    // vectors of another model are set aside (pending again); the search never compares them with ours
    let requeued = 0;
    for (const table of tables) {
      const params: unknown[] = [model];
      let envFilter = '';
      if (options.env) {
        params.push(options.env);
        envFilter = ` AND source_env = $${params.length}`;
      }
      const res = await db.query(
        `UPDATE aqe.${table.name} SET embedding_status = 'pending'
          WHERE search_text IS NOT NULL AND embedding_status IN ('done', 'failed') AND embedding_model IS DISTINCT FROM $1${envFilter}`,
        params as never,
      );
      requeued += res.rowCount;
    }
    result.requeued = requeued;
  }

  for (const table of tables) {
    let afterKey: [string, string, string, string] | null = null;
    for (;;) {
      const left = options.budgetMs - (performance.now() - started);
      const params: unknown[] = [batch];
      let where = `embedding_status = 'pending' AND search_text IS NOT NULL`;
      if (options.env) {
        params.push(options.env);
        where += ` AND source_env = $${params.length}`;
      }
      if (afterKey) {
        params.push(...afterKey);
        const n = params.length;
        // keyset pagination in primary-key order (source_key leads: migration 014)
        where += ` AND (source_key, source_table, source_id, source_env) > ($${n - 3}, $${n - 2}, $${n - 1}, $${n})`;
      }
      const res = await db.query<PendingRow>(
        `SELECT source_env, source_id, source_table, source_key, search_text, encode(embedding_text_hash, 'hex') AS embedding_text_hash FROM aqe.${table.name}
          WHERE ${where} ORDER BY source_key, source_table, source_id, source_env LIMIT $1`,
        params as never,
      );
      if (res.rows.length === 0) break;
      const last = res.rows[res.rows.length - 1]!;
      afterKey = [last.source_key, last.source_table, last.source_id, last.source_env];
      const rows = res.rows.map((r) => ({ ...r, searchText: r.search_text, embedding: undefined as { vector: Float32Array | readonly number[]; model: string } | null | undefined }));
      const out = await embedRows(rows, {
        embedder: options.embedder,
        cache,
        budgetMs: Math.max(0, left),
        ...(options.unavailableReason ? { unavailableReason: options.unavailableReason } : {}),
        modelId: model,
        ...(options.embedder ? { fingerprint: options.embedder.fingerprint } : {}),
      });
      result.cacheHits += out.cacheHits;
      result.inferences += out.inferences;
      result.warning ??= out.warning;
      const done = rows.filter((r) => r.embedding);
      if (done.length > 0) {
        const upd = await db.query(
          `UPDATE aqe.${table.name} t SET embedding = ${cast}, embedding_model = $6, embedding_status = 'done'
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $7::text[]) AS v(env, sid, stable, skey, vec, thash)
            WHERE t.source_env = v.env AND t.source_id = v.sid AND t.source_table = v.stable AND t.source_key = v.skey
              AND t.embedding_status = 'pending' AND t.embedding_text_hash = decode(v.thash, 'hex')`,
          [
            done.map((r) => r.source_env),
            done.map((r) => r.source_id),
            done.map((r) => r.source_table),
            done.map((r) => r.source_key),
            done.map((r) => toVectorLiteral(r.embedding!.vector as Float32Array)),
            model,
            done.map((r) => r.embedding_text_hash),
          ],
        );
        result.embedded += upd.rowCount;
      }
      options.onProgress?.({ table: table.name, embedded: result.embedded, pending: rows.length - done.length });
      if (out.budgetExhausted) result.budgetExhausted = true;
      if (done.length < rows.length && (out.budgetExhausted || !options.embedder)) {
        // nothing more can be embedded in this call: skip ahead (count what is left below)
        if (!options.embedder) continue;
        break;
      }
    }
  }
  const params: unknown[] = options.env ? [options.env] : [];
  const envFilter = options.env ? ' AND source_env = $1' : '';
  for (const table of tables) {
    const c = await db.query<{ n: string | number }>(
      `SELECT count(*) AS n FROM aqe.${table.name} WHERE embedding_status = 'pending'${envFilter}`,
      params as never,
    );
    result.pending += Number(c.rows[0]?.n ?? 0);
  }
  return result;
}
