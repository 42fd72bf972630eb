// The embedding stage with the real model path (stand-in model of the fixtures): cache, dedupe,
// time budget, and the "no model" outcome, on rows built through the text recipes.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { embedRows } from '../../../functions/embed/embed-batch.js';
import { DEFAULT_MODEL_FINGERPRINT, type Embedder, loadEmbedder } from '../../../functions/embed/embedder.js';
import { InMemoryEmbeddingCache } from '../../../functions/embed/embedding-cache.js';
import { textHash } from '../../../functions/embed/text-hash.js';
import { parseVectorLiteral, toVectorLiteral } from '../../../functions/embed/vector-literal.js';
import { isAppError } from '../../../schema/errors.js';
import { searchTextFor } from '../../../schema/sources/recipes.js';
import type { TargetRow } from '../../../schema/tables/target-tables.js';

const STANDIN = fileURLToPath(new URL('../../../assets/models/all-MiniLM-L6-v2-standin', import.meta.url));
/** The stand-in's label: from its files' fingerprint, whatever id it is given. */
const STANDIN_ID = 'sha256:846083dab7574b30';

const cosine = (a: Float32Array | readonly number[], b: Float32Array | readonly number[]) =>
  Array.from(a).reduce((sum, x, i) => sum + x * (b[i] as number), 0);

/** A qe_patterns row as the transforms produce it, with its search text from the recipe. */
function aPatternRow(key: string, name: string, description: string): TargetRow {
  const values = { name, description, pattern_type: 'test-template', qe_domain: 'test-generation' };
  return {
    table: 'qe_patterns',
    sourceTable: 'qe_patterns',
    sourceKey: key,
    contentHash: key,
    sourceUpdatedAt: null,
    values,
    extra: null,
    searchText: searchTextFor('qe_patterns', values),
  };
}

function rowsOf(texts: (string | null)[]): TargetRow[] {
  return texts.map((text, i) => ({ ...aPatternRow(`k${i}`, 'n', 'd'), searchText: text }));
}

let embedder: Embedder;
beforeAll(async () => {
  embedder = await loadEmbedder({ modelDir: STANDIN, modelId: STANDIN_ID, batchSize: 4 });
});

describe('embedRows', () => {
  it('embeds rows built by the recipes so that a related query ranks the related pattern first', async () => {
    const rows = [
      aPatternRow('1', 'Retry flaky network tests', 'Wrap network calls of flaky tests in a retry with backoff'),
      aPatternRow('2', 'Snapshot UI components', 'Compare rendered components against stored snapshots'),
      aPatternRow('3', 'Seed the database', 'Load fixture rows into the database before integration tests'),
    ];
    const result = await embedRows(rows, { embedder, cache: new InMemoryEmbeddingCache(), budgetMs: 60_000 });
    expect(result).toMatchObject({ embedded: 3, cacheHits: 0, pending: 0, skipped: 0, inferences: 3, warning: null });
    const [query] = await embedder.embed(['how to retry a flaky network test']);
    const ranked = [...rows].sort((a, b) => cosine(query!, b.embedding!.vector) - cosine(query!, a.embedding!.vector));
    expect(ranked[0]!.sourceKey).toBe('1');
    for (const row of rows) {
      expect(row.embedding!.model).toBe(STANDIN_ID);
      expect(row.embedding!.vector.length).toBe(384);
      expect(cosine(row.embedding!.vector, row.embedding!.vector)).toBeCloseTo(1, 5);
    }
  });

  it('takes unchanged texts from the cache on a second pass: zero inferences', async () => {
    const cache = new InMemoryEmbeddingCache();
    const texts = ['alpha coverage gap', 'beta mutation score', 'gamma contract drift', 'delta flaky retry', 'epsilon load test'];
    const first = await embedRows(rowsOf(texts), { embedder, cache, budgetMs: 60_000 });
    expect(first).toMatchObject({ embedded: 5, cacheHits: 0, inferences: 5 });
    expect(cache.size).toBe(5);

    const before = embedder.inferences;
    const again = rowsOf(texts);
    const second = await embedRows(again, { embedder, cache, budgetMs: 60_000 });
    expect(second).toMatchObject({ embedded: 5, cacheHits: 5, pending: 0, inferences: 0 });
    expect(embedder.inferences).toBe(before);
    const [direct] = await embedder.embed([texts[0]!]);
    expect(Array.from(again[0]!.embedding!.vector)).toEqual(Array.from(direct!));
  });

  it('embeds identical texts once and gives every row its vector; rows without text are skipped', async () => {
    const before = embedder.inferences;
    const rows = rowsOf(['same text', 'other text', 'same text', null, '   ', 'same text', 'other text']);
    const result = await embedRows(rows, { embedder, cache: new InMemoryEmbeddingCache(), budgetMs: 60_000 });
    expect(result).toMatchObject({ embedded: 5, cacheHits: 0, pending: 0, skipped: 2, inferences: 2 });
    expect(embedder.inferences - before).toBe(2);
    expect(rows[0]!.embedding!.vector).toBe(rows[2]!.embedding!.vector);
    expect(rows[3]!.embedding).toBeNull();
    expect(rows[4]!.embedding).toBeNull();
  });

  it('stops at the time budget and leaves the remaining rows pending, then finishes them on a later pass', async () => {
    const cache = new InMemoryEmbeddingCache();
    const texts = Array.from({ length: 10 }, (_, i) => `pending text number ${i} about topic ${i * 7}`);
    const rows = rowsOf(texts);
    // Virtual time: each text the (real) model embeds costs 10 ms. Batches of 4 cost 40 ms, so a
    // budget of 85 ms runs two batches and does not start a third that would overrun it.
    let clock = 0;
    const timed: Embedder = {
      modelId: embedder.modelId,
      fingerprint: embedder.fingerprint,
      dimension: 384,
      get inferences() {
        return embedder.inferences;
      },
      embed: async (batch) => {
        clock += 10 * batch.length;
        return embedder.embed(batch);
      },
    };
    const progress: number[] = [];
    const result = await embedRows(rows, {
      embedder: timed,
      cache,
      budgetMs: 85,
      batchSize: 4,
      now: () => clock,
      onProgress: (p) => progress.push(p.done),
    });
    expect(result).toMatchObject({ embedded: 8, pending: 2, inferences: 8, budgetExhausted: true, warning: null });
    expect(rows.filter((r) => r.embedding === null).map((r) => r.searchText)).toEqual(texts.slice(8));
    expect(progress).toEqual([0, 4, 8]);

    const later = rowsOf(texts);
    const rest = await embedRows(later, { embedder, cache, budgetMs: 60_000 });
    expect(rest).toMatchObject({ embedded: 10, cacheHits: 8, pending: 0, inferences: 2, budgetExhausted: false });
  });

  it('with a zero budget embeds nothing but still uses the cache', async () => {
    const cache = new InMemoryEmbeddingCache();
    await embedRows(rowsOf(['known text']), { embedder, cache, budgetMs: 60_000 });
    const before = embedder.inferences;
    const rows = rowsOf(['known text', 'new text']);
    const result = await embedRows(rows, { embedder, cache, budgetMs: 0 });
    expect(result).toMatchObject({ embedded: 1, cacheHits: 1, pending: 1, inferences: 0, budgetExhausted: true });
    expect(embedder.inferences).toBe(before);
  });

  it('without a model leaves every row pending and returns one warning that says how to get the model', async () => {
    const started = performance.now();
    const loadError = await loadEmbedder({ modelDir: path.join(STANDIN, 'missing-model') }).catch((err: unknown) => err);
    expect(isAppError(loadError, 'MODEL_UNAVAILABLE')).toBe(true);
    const rows = rowsOf(['one', 'two', 'three', 'two']);
    const result = await embedRows(rows, {
      embedder: null,
      cache: new InMemoryEmbeddingCache(),
      budgetMs: 60_000,
      unavailableReason: (loadError as Error).message,
    });
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(result).toMatchObject({ embedded: 0, cacheHits: 0, pending: 4, inferences: 0 });
    expect(rows.every((r) => r.embedding === null)).toBe(true);
    expect(result.warning).toContain('4 row(s) left pending');
    expect(result.warning).toContain('missing-model');
    // The how-to appears once, not once per quoted message.
    expect(result.warning!.split('set AQE_MODEL_DIR').length).toBe(2);
  });

  it('without a model still fills rows whose text is in the cache (keyed by the published model\'s fingerprint)', async () => {
    const cache = new InMemoryEmbeddingCache();
    const vector = new Float32Array(384).fill(1 / Math.sqrt(384));
    await cache.putMany([{ hash: textHash(DEFAULT_MODEL_FINGERPRINT, 'cached text') }].map((e) => ({ ...e, vector })), 'Xenova/all-MiniLM-L6-v2');
    const rows = rowsOf(['cached text', 'new text']);
    const result = await embedRows(rows, { embedder: null, cache, budgetMs: 60_000 });
    expect(result).toMatchObject({ embedded: 1, cacheHits: 1, pending: 1 });
    expect(rows[0]!.embedding!.model).toBe('Xenova/all-MiniLM-L6-v2');
    expect(result.warning).toContain('1 row(s) left pending');
  });

  it('keeps the vectors computed before a failing batch in the cache', async () => {
    const cache = new InMemoryEmbeddingCache();
    let calls = 0;
    const failing: Embedder = {
      modelId: embedder.modelId,
      fingerprint: embedder.fingerprint,
      dimension: 384,
      get inferences() {
        return embedder.inferences;
      },
      embed: async (texts) => {
        calls++;
        if (calls === 2) throw new Error('onnxruntime: out of memory');
        return embedder.embed(texts);
      },
    };
    const texts = ['f one', 'f two', 'f three', 'f four', 'f five'];
    await expect(embedRows(rowsOf(texts), { embedder: failing, cache, budgetMs: 60_000, batchSize: 2 })).rejects.toThrow('out of memory');
    expect(cache.size).toBe(2);
  });
});

describe('textHash and vector literals', () => {
  it('hashes model id and text together, refusing ambiguous model ids', () => {
    expect(textHash('m', 'text')).toMatch(/^[0-9a-f]{64}$/);
    expect(textHash('m', 'text')).not.toBe(textHash('other-model', 'text'));
    // A newline would make (model, text) pairs ambiguous: model ids never contain one.
    expect(() => textHash('m\na', 'b')).toThrow('model id');
  });

  it('writes vectors as text literals that round-trip float32 exactly', async () => {
    const [vector] = await embedder.embed(['round trip']);
    const literal = toVectorLiteral(vector!);
    expect(literal).toMatch(/^\[-?[\d.e-]+(,-?[\d.e-]+){383}\]$/);
    expect(Array.from(parseVectorLiteral(literal))).toEqual(Array.from(vector!));
    expect(toVectorLiteral([0.5, -0.25, 0])).toBe('[0.5,-0.25,0]');
    expect(() => toVectorLiteral([Number.NaN])).toThrow('vector[0]');
    expect(Array.from(parseVectorLiteral('{1,2.5}'))).toEqual([1, 2.5]);
    expect(() => parseVectorLiteral('(1,2)')).toThrow('expected "[x1,x2,…]"');
    expect(() => parseVectorLiteral('{1,NULL}')).toThrow('not a finite number');
  });
});
