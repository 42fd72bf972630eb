// The embedding stage of a load: give every row with search text a vector, from the cache when its
// text was seen before, else from the model in batches until the time budget is used up. Rows
// beyond the budget (or all of them when no model could be loaded) stay pending for reconcile.
import type { TargetRow } from '../../schema/tables/target-tables.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_MODEL_FINGERPRINT, DEFAULT_MODEL_ID, type Embedder, MODEL_HOWTO } from './embedder.js';
import type { EmbeddingCache } from './embedding-cache.js';
import { textHash } from './text-hash.js';

export { textHash } from './text-hash.js';
export type { EmbeddingCache } from './embedding-cache.js';

/** A row to embed: anything with search text and an `embedding` slot (TargetRow fits). */
export type EmbeddableRow = Pick<TargetRow, 'searchText' | 'embedding'>;

export interface EmbedProgress {
  /** Distinct texts resolved so far (from the cache or the model) out of `total`. */
  done: number;
  total: number;
  cacheHits: number;
  inferences: number;
  elapsedMs: number;
}

export interface EmbedRowsOptions {
  /** null when no model could be loaded: every row without a cached vector stays pending. */
  embedder: Embedder | null;
  cache: EmbeddingCache;
  /** Milliseconds of work allowed (AQE_EMBED_BUDGET_SECONDS × 1000); 0 = cache only. */
  budgetMs: number;
  /** Texts per embedder call (default 16). */
  batchSize?: number;
  /** Label of cached vectors when `embedder` is null (default Xenova/all-MiniLM-L6-v2). */
  modelId?: string;
  /** Fingerprint keying the cache when `embedder` is null (default: the published all-MiniLM-L6-v2's). */
  fingerprint?: string;
  /** Why no model is available (e.g. the MODEL_UNAVAILABLE message), quoted in the warning. */
  unavailableReason?: string;
  /** Called after the cache lookup and after every batch. */
  onProgress?: (progress: EmbedProgress) => void;
  /** Clock (tests). */
  now?: () => number;
}

export interface EmbedRowsResult {
  /** Rows that now carry a vector (from the cache or computed). */
  embedded: number;
  /** Rows whose vector came from the cache. */
  cacheHits: number;
  /** Rows with search text left without a vector (budget used up, or no model). */
  pending: number;
  /** Rows without search text (nothing to embed; embedding set to null). */
  skipped: number;
  /** Distinct texts run through the model in this call. */
  inferences: number;
  /** True when the time budget stopped the work before every text was embedded. */
  budgetExhausted: boolean;
  /** The one warning of this call (no model), to be shown once; null when none. */
  warning: string | null;
}

/**
 * Sets `row.embedding = { vector, model }` on every row whose search text has a cached or newly
 * computed vector, and `null` on the others (pending, or no text). Identical texts are embedded
 * once; new vectors are stored in `cache` (also when a batch fails midway). Never logs: the
 * warning for "no model" is returned.
 *
 * @example
 * const result = await embedRows(rows, { embedder, cache, budgetMs: config.embedBudgetSeconds * 1000 });
 * if (result.warning) warnings.push(result.warning);
 */
export async function embedRows(rows: readonly EmbeddableRow[], options: EmbedRowsOptions): Promise<EmbedRowsResult> {
  const now = options.now ?? (() => performance.now());
  const started = now();
  // the cache is keyed by the model's fingerprint; vectors are labelled with its identity label
  const model = options.embedder?.modelId ?? options.modelId ?? DEFAULT_MODEL_ID;
  const fingerprint = options.embedder?.fingerprint ?? options.fingerprint ?? DEFAULT_MODEL_FINGERPRINT;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;

  // Distinct texts, in first-seen order, with the rows that share each.
  const byHash = new Map<string, { text: string; rows: EmbeddableRow[] }>();
  let skipped = 0;
  for (const row of rows) {
    const text = row.searchText;
    if (text === undefined || text === null || text.trim() === '') {
      row.embedding = null;
      skipped++;
      continue;
    }
    const hash = textHash(fingerprint, text);
    const group = byHash.get(hash);
    if (group) group.rows.push(row);
    else byHash.set(hash, { text, rows: [row] });
  }

  const total = byHash.size;
  let done = 0;
  let embedded = 0;
  let cacheHits = 0;
  let inferences = 0;
  const progress = () => options.onProgress?.({ done, total, cacheHits, inferences, elapsedMs: now() - started });
  const assign = (hash: string, vector: Float32Array, fromCache: boolean) => {
    const group = byHash.get(hash);
    if (!group) return;
    for (const row of group.rows) row.embedding = { vector, model };
    embedded += group.rows.length;
    if (fromCache) cacheHits += group.rows.length;
    done++;
  };

  const todo: string[] = [];
  if (total > 0) {
    const cached = await options.cache.getMany([...byHash.keys()]);
    for (const hash of byHash.keys()) {
      const vector = cached.get(hash);
      if (vector) assign(hash, vector, true);
      else todo.push(hash);
    }
    progress();
  }

  let next = 0;
  let budgetExhausted = false;
  if (options.embedder && todo.length > 0) {
    const embedder = options.embedder;
    const fresh: { hash: string; vector: Float32Array }[] = [];
    let msPerText: number | null = null;
    try {
      while (next < todo.length) {
        const hashes = todo.slice(next, next + batchSize);
        const elapsed = now() - started;
        // Stop when the budget is spent, or when this batch is expected to overrun it.
        if (elapsed >= options.budgetMs || (msPerText !== null && elapsed + msPerText * hashes.length > options.budgetMs)) {
          budgetExhausted = true;
          break;
        }
        const batchStart = now();
        const vectors = await embedder.embed(hashes.map((hash) => byHash.get(hash)?.text ?? ''));
        msPerText = (now() - batchStart) / hashes.length;
        inferences += hashes.length;
        hashes.forEach((hash, i) => {
          const vector = vectors[i] as Float32Array;
          fresh.push({ hash, vector });
          assign(hash, vector, false);
        });
        next += hashes.length;
        progress();
      }
    } finally {
      // Computed vectors are kept even when a later batch fails.
      if (fresh.length > 0) await options.cache.putMany(fresh, model);
    }
  }

  let pending = 0;
  for (let i = next; i < todo.length; i++) {
    const group = byHash.get(todo[i] as string);
    if (!group) continue;
    for (const row of group.rows) row.embedding = null;
    pending += group.rows.length;
  }

  // The reason is usually a MODEL_UNAVAILABLE message, which already ends with the how-to.
  const reason = options.unavailableReason?.replace(MODEL_HOWTO, '').trim();
  const warning =
    options.embedder === null && pending > 0
      ? `embeddings: no model loaded${reason ? ` (${reason})` : ''}; ${pending} row(s) left pending. Fix: set AQE_MODEL_DIR to a folder of Xenova/all-MiniLM-L6-v2, then run reconcile or \`aqe-upload embed\``
      : null;
  return { embedded, cacheHits, pending, skipped, inferences, budgetExhausted, warning };
}
