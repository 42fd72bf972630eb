// The EmbeddingCache on the database (aqe.embedding_cache): shared by every load, every
// environment and the reconcile backfill, so the same text is embedded once, ever.

import type { DialectQueryable } from '../db/database.js';
import type { EmbeddingCache } from './embedding-cache.js';
import { parseVectorLiteral, toVectorLiteral } from './vector-literal.js';

export class PgEmbeddingCache implements EmbeddingCache {
  /** `db`: a migrated Database (or a transaction on one): its dialect casts the vectors. */
  constructor(private readonly db: DialectQueryable) {}

  async getMany(hashes: readonly string[]): Promise<Map<string, Float32Array>> {
    const out = new Map<string, Float32Array>();
    for (let i = 0; i < hashes.length; i += 1000) {
      const chunk = hashes.slice(i, i + 1000);
      const res = await this.db.query<{ text_hash: string; v: string }>(
        'SELECT text_hash, embedding::text AS v FROM aqe.embedding_cache WHERE text_hash = ANY($1::text[])',
        [chunk],
      );
      for (const r of res.rows) out.set(r.text_hash, parseVectorLiteral(r.v));
    }
    return out;
  }

  async putMany(entries: readonly { hash: string; vector: Float32Array }[], model: string): Promise<void> {
    const cast = this.db.dialect.castText('v.vec');
    for (let i = 0; i < entries.length; i += 500) {
      const chunk = entries.slice(i, i + 500);
      await this.db.query(
        `INSERT INTO aqe.embedding_cache (text_hash, model, dim, embedding)
         SELECT v.hash, $3, 384, ${cast} FROM unnest($1::text[], $2::text[]) AS v(hash, vec)
         ON CONFLICT (text_hash) DO NOTHING`,
        [chunk.map((e) => e.hash), chunk.map((e) => toVectorLiteral(e.vector)), model],
      );
    }
  }
}
