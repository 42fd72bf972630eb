// Where computed embeddings are kept so unchanged text is never embedded twice. The interface is
// what embedRows needs; the in-memory implementation serves one process (and the tests), the
// Postgres one (table aqe.embedding_cache) serves every invocation.

/** A store of vectors by text hash (see textHash: the hash already includes the model id). */
export interface EmbeddingCache {
  /** The cached vectors among `hashes` (absent hashes are simply missing from the map). */
  getMany(hashes: readonly string[]): Promise<Map<string, Float32Array>>;
  /** Stores vectors computed by `model`. Storing an existing hash again is a no-op or an overwrite with the same vector. */
  putMany(entries: readonly { hash: string; vector: Float32Array }[], model: string): Promise<void>;
}

export interface InMemoryEmbeddingCacheOptions {
  /** Oldest entries are evicted beyond this count (50,000 × 384 floats ≈ 77 MB). */
  maxEntries?: number;
}

/** Process-local EmbeddingCache (insertion-ordered; the oldest entry is evicted first). */
export class InMemoryEmbeddingCache implements EmbeddingCache {
  private readonly entries = new Map<string, { vector: Float32Array; model: string }>();
  private readonly maxEntries: number;

  constructor(options: InMemoryEmbeddingCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 50_000;
  }

  get size(): number {
    return this.entries.size;
  }

  async getMany(hashes: readonly string[]): Promise<Map<string, Float32Array>> {
    const found = new Map<string, Float32Array>();
    for (const hash of hashes) {
      const entry = this.entries.get(hash);
      if (entry) found.set(hash, entry.vector);
    }
    return found;
  }

  async putMany(entries: readonly { hash: string; vector: Float32Array }[], model: string): Promise<void> {
    for (const { hash, vector } of entries) {
      this.entries.delete(hash);
      // A copy: callers may reuse or mutate their arrays.
      this.entries.set(hash, { vector: Float32Array.from(vector), model });
      if (this.entries.size > this.maxEntries) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.entries.delete(oldest);
      }
    }
  }
}
