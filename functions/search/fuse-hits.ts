// Ranking of search hits, pure: vector hits by cosine similarity, or, with hybrid search, vector
// and full-text hits fused by reciprocal rank fusion (RRF: each list adds 1 / (60 + rank) to a
// row's score, so a row both lists found ranks above one only either found). Ties break by key.

import type { RawHit } from './search-sql.js';

/** RRF's constant: dampens the weight of the very first ranks (the value of the original paper). */
export const RRF_K = 60;

/** A row found by a search, as reported. */
export interface SearchHit {
  table: string;
  env: string;
  sourceId: string;
  sourceTable: string;
  key: string;
  label: string | null;
  excerpt: string;
  /** Cosine similarity (1 - distance); null for a hit found by full text only. */
  similarity: number | null;
  /** Final score: similarity, or the RRF score with --hybrid. */
  score: number;
  /** When the row last changed in its source (else when it was last loaded): the hit's age. */
  updatedAt: string | null;
  /** Gone from its source (only with includeMissing). */
  missing: boolean;
}

/** A row as a statement returned it, with the table it came from. */
export interface TableHit {
  table: string;
  raw: RawHit;
}

/**
 * The best `limit` hits: `vector` (each with its distance) ranked by similarity, or with `hybrid`
 * fused with `text` (each with its ts_rank) by reciprocal rank fusion. The same row found by both
 * is one hit.
 * @example fuseHits(vectorHits, textHits, { hybrid: true, limit: 10 })
 */
export function fuseHits(vector: readonly TableHit[], text: readonly TableHit[], options: { hybrid: boolean; limit: number }): SearchHit[] {
  const keyOf = (h: TableHit) => `${h.table}\u0000${h.raw.source_env}\u0000${h.raw.source_id}\u0000${h.raw.source_table}\u0000${h.raw.source_key}`;
  const hits = new Map<string, SearchHit>();
  const byDistance = [...vector].sort((a, b) => Number(a.raw.distance) - Number(b.raw.distance));
  byDistance.forEach((h, i) => {
    const similarity = 1 - Number(h.raw.distance);
    hits.set(keyOf(h), hitOf(h.table, h.raw, similarity, options.hybrid ? 1 / (RRF_K + i + 1) : similarity));
  });
  if (options.hybrid) {
    const byRank = [...text].sort((a, b) => Number(b.raw.rank) - Number(a.raw.rank));
    byRank.forEach((h, i) => {
      const k = keyOf(h);
      const hit = hits.get(k) ?? hitOf(h.table, h.raw, null, 0);
      hit.score += 1 / (RRF_K + i + 1);
      hits.set(k, hit);
    });
  }
  return [...hits.values()].sort((a, b) => b.score - a.score || a.key.localeCompare(b.key)).slice(0, options.limit);
}

/** The reported form of a raw row. */
export function hitOf(table: string, r: RawHit, similarity: number | null, score: number): SearchHit {
  const at = r.updated_at instanceof Date ? r.updated_at.toISOString() : r.updated_at === null || r.updated_at === undefined ? null : new Date(r.updated_at).toISOString();
  return {
    table,
    env: r.source_env,
    sourceId: r.source_id,
    sourceTable: r.source_table,
    key: r.source_key,
    label: r.label,
    excerpt: (r.excerpt ?? '').replace(/\s+/g, ' ').trim(),
    similarity,
    score,
    updatedAt: at,
    missing: r.missing === true,
  };
}
