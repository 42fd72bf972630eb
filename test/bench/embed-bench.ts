// Embedding throughput with the full-shape model (real all-MiniLM-L6-v2 architecture, random
// weights): batched texts/s against one-text-at-a-time in the same run, and the cached second pass.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { embedRows } from '../../functions/embed/embed-batch.js';
import { DEFAULT_BATCH_SIZE, type Embedder, loadEmbedder } from '../../functions/embed/embedder.js';
import { InMemoryEmbeddingCache } from '../../functions/embed/embedding-cache.js';
import type { BenchFigure, BenchOptions } from './bench-types.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TARGET_RATE = 400;
const TARGET_RATIO = 1.5;

const WORDS = (
  'test pattern agent coverage flaky retry network domain quality contract api mutation security fixture database ' +
  'latency regression cache queue token user login error timeout schema deploy review merge branch build lint memory ' +
  'vector payment checkout boundary value mock stub assertion snapshot render component browser session cookie ' +
  'throughput load stress chaos recovery rollback migration index query plan cost goal action reward policy'
).split(' ');

/** `count` distinct texts of ~30 words (26–34), deterministic. */
export function benchTexts(count: number): string[] {
  let seed = 20261122;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  return Array.from({ length: count }, (_, i) => {
    const length = 26 + Math.floor(next() * 9);
    const words = Array.from({ length }, () => WORDS[Math.floor(next() * WORDS.length)] as string);
    return `${words.join(' ')} case ${i}`;
  });
}

async function rate(embedder: Embedder, texts: string[], oneAtATime: boolean): Promise<number> {
  const started = performance.now();
  if (oneAtATime) for (const text of texts) await embedder.embed([text]);
  else await embedder.embed(texts);
  return texts.length / ((performance.now() - started) / 1000);
}

export async function run(opts: BenchOptions): Promise<BenchFigure[]> {
  const modelDir = process.env['AQE_BENCH_MODEL_DIR'] ?? path.resolve(REPO_ROOT, '../shared/models/all-MiniLM-L6-v2-shape');
  if (!existsSync(modelDir)) {
    opts.log(`embed-bench: skipped, no model at ${modelDir} (set AQE_BENCH_MODEL_DIR to the full-shape model folder)`);
    return [];
  }
  const embedder = await loadEmbedder({ modelDir, modelId: 'aqe/all-MiniLM-L6-v2-shape' });
  const batchedCount = opts.quick ? 64 : 256;
  const singleCount = opts.quick ? 24 : 96;
  const rounds = opts.quick ? 2 : 3;
  const texts = benchTexts(batchedCount);
  await embedder.embed(texts.slice(0, DEFAULT_BATCH_SIZE)); // warm-up: first runs allocate arenas

  // Rounds alternate the two modes and keep each one's best, so other load on the machine
  // affects both alike.
  let batched = 0;
  let single = 0;
  for (let round = 0; round < rounds; round++) {
    batched = Math.max(batched, await rate(embedder, texts, false));
    single = Math.max(single, await rate(embedder, texts.slice(0, singleCount), true));
    opts.log(`embed-bench round ${round + 1}: batched ${batched.toFixed(0)} texts/s, one at a time ${single.toFixed(0)} texts/s`);
  }

  if (!opts.quick) {
    for (const batchSize of [4, 8, 32, 64]) {
      const sized = await loadEmbedder({ modelDir, modelId: 'aqe/all-MiniLM-L6-v2-shape', batchSize });
      opts.log(`embed-bench batch size ${batchSize}: ${(await rate(sized, texts, false)).toFixed(0)} texts/s`);
    }
    for (const threads of [1, 2]) {
      for (const spinWait of [false, true]) {
        const tuned = await loadEmbedder({ modelDir, modelId: 'aqe/all-MiniLM-L6-v2-shape', threads, spinWait });
        const b = await rate(tuned, texts, false);
        const s = await rate(tuned, texts.slice(0, singleCount), true);
        opts.log(`embed-bench threads ${threads}, spin-wait ${spinWait}: batched ${b.toFixed(0)}, one at a time ${s.toFixed(0)} texts/s`);
      }
    }
  }

  // Second pass over unchanged rows: everything from the cache, no inference.
  const cache = new InMemoryEmbeddingCache();
  const rows = () => texts.map((searchText) => ({ searchText, embedding: null }));
  await embedRows(rows(), { embedder, cache, budgetMs: 600_000 });
  const before = embedder.inferences;
  const started = performance.now();
  const second = await embedRows(rows(), { embedder, cache, budgetMs: 600_000 });
  const cachedRate = texts.length / ((performance.now() - started) / 1000);

  const ratio = batched / single;
  return [
    {
      name: `embed ~30-word texts, batches of ${DEFAULT_BATCH_SIZE} (full-shape MiniLM, q8, CPU)`,
      value: Math.round(batched),
      unit: 'texts/s',
      baseline: { name: 'one text per model call', value: Math.round(single), unit: 'texts/s' },
      ratio: Number(ratio.toFixed(2)),
      ratioLabel: 'batched / one at a time',
      target: `>= ${TARGET_RATE} texts/s and >= ${TARGET_RATIO}x one at a time`,
      pass: batched >= TARGET_RATE && ratio >= TARGET_RATIO,
    },
    {
      name: 'embedRows second pass over unchanged texts (cache hits)',
      value: Math.round(cachedRate),
      unit: 'rows/s',
      target: '0 inferences',
      pass: embedder.inferences === before && second.cacheHits === texts.length,
    },
  ];
}
