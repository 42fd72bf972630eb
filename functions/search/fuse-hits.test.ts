import { describe, expect, it } from 'vitest';
import { fuseHits, RRF_K, type TableHit } from './fuse-hits.js';

const hit = (table: string, key: string, at: { distance?: number; rank?: number } = {}): TableHit => ({
  table,
  raw: { source_env: 'e', source_id: 's', source_table: 't', source_key: key, label: null, excerpt: `  text\n of ${key} `, distance: at.distance ?? null, rank: at.rank ?? null, updated_at: '2026-01-02T03:04:05Z', missing: false },
});

describe('fuseHits', () => {
  it('ranks vector hits by similarity (1 - distance), best first, cut at the limit', () => {
    const out = fuseHits([hit('patterns', 'far', { distance: 0.6 }), hit('patterns', 'near', { distance: 0.1 }), hit('qe_patterns', 'mid', { distance: 0.3 })], [], { hybrid: false, limit: 2 });
    expect(out.map((h) => [h.key, h.similarity, h.score])).toEqual([
      ['near', 0.9, 0.9],
      ['mid', 0.7, 0.7],
    ]);
    expect(out[0]).toMatchObject({ excerpt: 'text of near', updatedAt: '2026-01-02T03:04:05.000Z', missing: false });
  });

  it('ignores full-text hits without hybrid', () => {
    expect(fuseHits([hit('patterns', 'v', { distance: 0.2 })], [hit('patterns', 't', { rank: 1 })], { hybrid: false, limit: 10 }).map((h) => h.key)).toEqual(['v']);
  });

  it('with hybrid, sums 1/(60+rank) over both lists: a row both found ranks above rows only one found', () => {
    const vector = [hit('patterns', 'a', { distance: 0.1 }), hit('patterns', 'both', { distance: 0.2 })];
    const text = [hit('patterns', 'text-only', { rank: 0.9 }), hit('patterns', 'both', { rank: 0.5 })];
    const out = fuseHits(vector, text, { hybrid: true, limit: 10 });
    expect(out.map((h) => h.key)).toEqual(['both', 'a', 'text-only']);
    expect(out[0]!.score).toBeCloseTo(1 / (RRF_K + 2) + 1 / (RRF_K + 2), 12);
    expect(out[0]!.similarity).toBeCloseTo(0.8, 12);
    expect(out[2]).toMatchObject({ similarity: null });
    expect(out[2]!.score).toBeCloseTo(1 / (RRF_K + 1), 12);
  });

  it('keeps rows of different tables with the same key apart, and breaks ties by key', () => {
    const out = fuseHits([hit('patterns', 'k', { distance: 0.5 }), hit('qe_patterns', 'k', { distance: 0.5 }), hit('patterns', 'j', { distance: 0.5 })], [], { hybrid: false, limit: 10 });
    expect(out.map((h) => `${h.table}/${h.key}`)).toEqual(['patterns/j', 'patterns/k', 'qe_patterns/k']);
  });
});
