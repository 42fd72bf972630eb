// Loads all-MiniLM-L6-v2 through transformers.js (onnxruntime-node, CPU, int8) once per process
// and turns texts into 384-d mean-pooled, normalised vectors. Every way loading can fail becomes
// MODEL_UNAVAILABLE within seconds, with a message that says how to provide the model.
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError, errorMessage } from '../../schema/errors.js';
import { hasModelFiles, identifyModelDir, type ModelIdentity, PUBLISHED_MINILM } from './model-identity.js';

/** The model our vectors come from (its Hugging Face id, and its label once its files are recognised). */
export const DEFAULT_MODEL_ID = 'Xenova/all-MiniLM-L6-v2';
/** Its fingerprint from the published file hashes: the cache key of its vectors, known without loading it. */
export const DEFAULT_MODEL_FINGERPRINT = PUBLISHED_MINILM.fingerprint;
/** Dimension of every vector column we write (`vector(384)`). */
export const EMBEDDING_DIMENSION = 384;
/** Texts per model call. Measured on 2 cores with the full-shape model: 8–32 within 5%, 16 best (see the bench). */
export const DEFAULT_BATCH_SIZE = 16;
/** Files of a model folder that transformers.js reads for dtype q8. */
export const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx'] as const;

/** How to provide the model: part of every MODEL_UNAVAILABLE message and of the "no model" warning. */
export const MODEL_HOWTO =
  'To provide the model, set AQE_MODEL_DIR to a folder holding config.json, tokenizer.json, ' +
  'tokenizer_config.json and onnx/model_quantized.onnx of all-MiniLM-L6-v2 (copy them on a machine ' +
  'with internet access from the Hugging Face repo Xenova/all-MiniLM-L6-v2), or run where ' +
  'huggingface.co is reachable so the library downloads and caches it.';

/** Turns texts into vectors of one model. */
export interface Embedder {
  /**
   * Provenance of the vectors, stored beside them (embedding_model): the published name of a
   * recognised model, else `sha256:<16 hex>` of its fingerprint (model-identity.ts).
   */
  readonly modelId: string;
  /** sha256 of the model's ONNX and tokenizer files: the model part of every cache key. */
  readonly fingerprint: string;
  readonly dimension: 384;
  /** One unit-norm vector per text, in order. Texts are batched internally. */
  embed(texts: string[]): Promise<Float32Array[]>;
  /** Texts actually run through the model by this embedder so far. */
  readonly inferences: number;
}

export interface LoadEmbedderOptions {
  /**
   * The model's own folder (AQE_MODEL_DIR): config.json, tokenizer.json, tokenizer_config.json,
   * onnx/model_quantized.onnx. When set, nothing is ever downloaded.
   */
  modelDir?: string;
  /**
   * Without `modelDir`: the Hugging Face repo downloaded (default `Xenova/all-MiniLM-L6-v2`). It
   * never labels the vectors: their label comes from the model's files (model-identity.ts), so
   * a stand-in's vectors are never stored as the real model's.
   */
  modelId?: string;
  /** Texts per model call (default 16). */
  batchSize?: number;
  /** onnxruntime intra-op threads (default: the available cores, os.availableParallelism()). */
  threads?: number;
  /**
   * Let onnxruntime's idle threads spin-wait (default false). Spinning gained ~3% on an idle
   * 2-core machine but cost 30–60% whenever anything else ran on the cores (other processes,
   * shared vCPUs), so it is off unless the cores are known to be ours alone.
   */
  spinWait?: boolean;
  /** Download only: the hub to download from (default https://huggingface.co/, e.g. a mirror). */
  remoteHost?: string;
  /** Download only: where the library caches downloaded files (default: inside its package). */
  cacheDir?: string;
  /** Download only: how long the hub gets to answer a first probe before giving up (default 5 s). */
  probeTimeoutMs?: number;
  /** Download only: the longest a whole download may take (default 300 s). */
  downloadTimeoutMs?: number;
}

/** What the loader needs of a transformers.js feature-extraction pipeline. */
interface FeatureExtractor {
  (texts: string[], options: { pooling: 'mean'; normalize: boolean }): Promise<{ dims: number[]; data: ArrayLike<number> }>;
  dispose(): Promise<void>;
}

/** onnxruntime settings of one session. */
interface Runtime {
  threads: number;
  spinWait: boolean;
}

interface LoadedModel {
  extractor: FeatureExtractor;
  /** Where the model came from, for messages. */
  where: string;
  identity: ModelIdentity;
}

const loaded = new Map<string, Promise<LoadedModel>>();
// transformers.js reads its settings from one global `env` while loading: loads run one at a time.
let loadChain: Promise<unknown> = Promise.resolve();

/**
 * The embedder of `options` (loading the model once per process; later calls with the same
 * folder/model and threads reuse it). Rejects with AppError MODEL_UNAVAILABLE when the model cannot
 * be loaded (missing folder or file, corrupt ONNX, hub unreachable) and MODEL_DIMENSION when it
 * does not produce 384-d vectors.
 *
 * @example
 * const embedder = await loadEmbedder({ modelDir: config.modelDir }); // AQE_MODEL_DIR, may be undefined
 * const [vector] = await embedder.embed(['retry flaky network tests']); // Float32Array(384), unit norm
 */
export async function loadEmbedder(options: LoadEmbedderOptions = {}): Promise<Embedder> {
  const modelId = options.modelId ?? DEFAULT_MODEL_ID;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const threads = options.threads ?? Math.max(1, os.availableParallelism());
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new AppError('CONFIG_INVALID', `embedder batchSize: expected a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(threads) || threads < 1) {
    throw new AppError('CONFIG_INVALID', `embedder threads: expected a positive integer, got ${threads}`);
  }
  const modelDir = options.modelDir === undefined || options.modelDir === '' ? undefined : path.resolve(options.modelDir);
  const spinWait = options.spinWait ?? false;
  const key = JSON.stringify([modelDir ?? null, modelDir ? null : modelId, threads, spinWait, options.remoteHost ?? null, options.cacheDir ?? null]);
  let model = loaded.get(key);
  if (!model) {
    const next = loadChain.then(() => (modelDir ? loadFromDir(modelDir, { threads, spinWait }) : loadFromHub(modelId, { threads, spinWait }, options)));
    loadChain = next.catch(() => undefined);
    model = next;
    loaded.set(key, model);
    // A failed load is not remembered: providing the model and retrying must work.
    model.catch(() => {
      if (loaded.get(key) === next) loaded.delete(key);
    });
  }
  const ready = await model;
  return new TransformersEmbedder(ready.identity.label, ready.identity.fingerprint, ready, batchSize);
}

/** Disposes every loaded model (their onnxruntime sessions); later loads start afresh. */
export async function releaseEmbedders(): Promise<void> {
  const models = [...loaded.values()];
  loaded.clear();
  for (const model of models) {
    const result = await model.catch(() => null);
    await result?.extractor.dispose();
  }
}

class TransformersEmbedder implements Embedder {
  readonly dimension = EMBEDDING_DIMENSION;
  private count = 0;

  constructor(
    readonly modelId: string,
    readonly fingerprint: string,
    private readonly model: LoadedModel,
    private readonly batchSize: number,
  ) {}

  get inferences(): number {
    return this.count;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(texts.length);
    // Similar lengths in one batch: padding to the longest text costs compute for nothing.
    const order = texts.map((_, i) => i).sort((a, b) => (texts[a] as string).length - (texts[b] as string).length || a - b);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const indices = order.slice(start, start + this.batchSize);
      const vectors = await runBatch(
        this.model,
        indices.map((i) => texts[i] as string),
      );
      this.count += indices.length;
      indices.forEach((textIndex, k) => {
        out[textIndex] = vectors[k] as Float32Array;
      });
    }
    return out;
  }
}

async function runBatch(model: LoadedModel, texts: string[]): Promise<Float32Array[]> {
  const result = await model.extractor(texts, { pooling: 'mean', normalize: true });
  const [rows, dimension] = result.dims;
  if (dimension !== EMBEDDING_DIMENSION || rows !== texts.length) {
    throw new AppError(
      'MODEL_DIMENSION',
      `embedding model at ${model.where} produces vectors of shape [${result.dims.join(', ')}] for ${texts.length} text(s); ` +
        `expected ${EMBEDDING_DIMENSION}-dimensional vectors (all-MiniLM-L6-v2), as the vector(${EMBEDDING_DIMENSION}) columns require. ` +
        `Point AQE_MODEL_DIR at all-MiniLM-L6-v2, not another model.`,
      { details: { where: model.where, dims: result.dims } },
    );
  }
  const data = result.data instanceof Float32Array ? result.data : Float32Array.from(result.data);
  const vectors: Float32Array[] = [];
  for (let i = 0; i < rows; i++) vectors.push(data.slice(i * dimension, (i + 1) * dimension));
  return vectors;
}

async function loadFromDir(modelDir: string, runtime: Runtime): Promise<LoadedModel> {
  const where = `AQE_MODEL_DIR=${modelDir}`;
  const missing = await missingModelFiles(modelDir);
  if (missing === 'no-folder') {
    throw new AppError('MODEL_UNAVAILABLE', `embedding model folder ${modelDir} does not exist or is not a folder. ${MODEL_HOWTO}`, {
      details: { modelDir },
    });
  }
  if (missing.length > 0) {
    throw new AppError(
      'MODEL_UNAVAILABLE',
      `embedding model folder ${modelDir} lacks ${missing.join(', ')}. ${MODEL_HOWTO}`,
      { details: { modelDir, missing } },
    );
  }
  const { env } = await import('@huggingface/transformers');
  // The library resolves `localModelPath/<id>/<file>` for a valid hub-style id, and takes any other
  // id as a path: a folder name with spaces or `..` is passed as its absolute path.
  const base = path.basename(modelDir);
  const idIsHubStyle = /^[\w\-.]{1,96}$/.test(base) && !base.includes('..') && !base.includes('--');
  const identity = await identifyModelDir(modelDir);
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  env.localModelPath = path.dirname(modelDir) + path.sep;
  return createExtractor(idIsHubStyle ? base : modelDir, { local_files_only: true }, runtime, where, async () => identity);
}

async function loadFromHub(modelId: string, runtime: Runtime, options: LoadEmbedderOptions): Promise<LoadedModel> {
  const { env } = await import('@huggingface/transformers');
  const remoteHost = options.remoteHost ?? 'https://huggingface.co/';
  const cacheDir = options.cacheDir ?? env.cacheDir;
  const where = `${remoteHost.replace(/\/?$/, '/')}${modelId} (cache ${cacheDir})`;
  const cachedMissing = cacheDir ? await missingModelFiles(path.join(cacheDir, modelId)) : 'no-folder';
  const cached = cachedMissing !== 'no-folder' && cachedMissing.length === 0;
  if (!cached) {
    // Fail fast when the hub cannot be reached (offline, firewalled) instead of waiting on a download.
    const probeUrl = `${remoteHost.replace(/\/?$/, '/')}${modelId}/resolve/main/config.json`;
    try {
      await fetch(probeUrl, { method: 'HEAD', signal: AbortSignal.timeout(options.probeTimeoutMs ?? 5_000) });
    } catch (err) {
      throw new AppError(
        'MODEL_UNAVAILABLE',
        `embedding model ${modelId} is not cached in ${cacheDir} and ${probeUrl} is unreachable ` +
          `(${describeFetchError(err)}); no AQE_MODEL_DIR is set. ${MODEL_HOWTO}`,
        { cause: err, details: { modelId, probeUrl } },
      );
    }
  }
  // No AQE_MODEL_DIR: the library's cache, then the hub (no stray lookups under localModelPath).
  // A complete cache is read without any request, so `cached` needs no local_files_only.
  env.allowLocalModels = false;
  env.allowRemoteModels = true;
  env.remoteHost = remoteHost.replace(/\/?$/, '/');
  if (options.cacheDir !== undefined) env.cacheDir = options.cacheDir;
  const timeoutMs = options.downloadTimeoutMs ?? 300_000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new AppError('MODEL_UNAVAILABLE', `downloading embedding model ${modelId} from ${where} took over ${timeoutMs / 1000} s. ${MODEL_HOWTO}`, {
            details: { modelId },
          }),
        ),
      timeoutMs,
    );
    timer.unref();
  });
  // the downloaded files, fingerprinted where the library cached them
  const identify = async (): Promise<ModelIdentity> => {
    const dir = cacheDir ? path.join(cacheDir, modelId) : '';
    if (dir && (await hasModelFiles(dir))) return identifyModelDir(dir);
    throw new AppError('MODEL_UNAVAILABLE', `embedding model ${modelId}: its files are not where the library caches them (${dir || 'no cache folder'}), so its identity cannot be checked. ${MODEL_HOWTO}`, { details: { modelId } });
  };
  try {
    return await Promise.race([createExtractor(modelId, { local_files_only: false }, runtime, where, identify), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function createExtractor(
  libraryId: string,
  hubOptions: { local_files_only: boolean },
  runtime: Runtime,
  where: string,
  identify: () => Promise<ModelIdentity>,
): Promise<LoadedModel> {
  const { pipeline } = await import('@huggingface/transformers');
  let extractor: FeatureExtractor;
  try {
    extractor = (await pipeline('feature-extraction', libraryId, {
      ...hubOptions,
      dtype: 'q8',
      device: 'cpu',
      session_options: {
        intraOpNumThreads: runtime.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        extra: { session: { intra_op: { allow_spinning: runtime.spinWait ? '1' : '0' } } },
      },
    })) as unknown as FeatureExtractor;
  } catch (err) {
    throw new AppError('MODEL_UNAVAILABLE', `could not load the embedding model from ${where}: ${clause(err)}. ${MODEL_HOWTO}`, {
      cause: err,
      details: { where },
    });
  }
  let identity: ModelIdentity;
  try {
    identity = await identify();
  } catch (err) {
    await extractor.dispose().catch(() => undefined);
    if (err instanceof AppError) throw err;
    throw new AppError('MODEL_UNAVAILABLE', `could not fingerprint the embedding model from ${where}: ${clause(err)}. ${MODEL_HOWTO}`, { cause: err, details: { where } });
  }
  const model: LoadedModel = { extractor, where, identity };
  try {
    // One real run: a model of another dimension is refused now, not in the middle of a load.
    await runBatch(model, ['embedding dimension probe']);
  } catch (err) {
    await extractor.dispose().catch(() => undefined);
    if (err instanceof AppError) throw err;
    throw new AppError('MODEL_UNAVAILABLE', `the embedding model from ${where} fails to run: ${clause(err)}. ${MODEL_HOWTO}`, {
      cause: err,
      details: { where },
    });
  }
  return model;
}

/** 'no-folder', or the required files missing (or empty) in `dir`. */
async function missingModelFiles(dir: string): Promise<string[] | 'no-folder'> {
  const folder = await stat(dir).catch(() => null);
  if (!folder?.isDirectory()) return 'no-folder';
  const missing: string[] = [];
  for (const file of MODEL_FILES) {
    const full = path.join(dir, file);
    const ok = await access(full, fsConstants.R_OK)
      .then(() => stat(full))
      .then((s) => s.isFile() && s.size > 0)
      .catch(() => false);
    if (!ok) missing.push(file);
  }
  return missing;
}

/** The message of `err` without its final full stop, to sit inside a sentence. */
function clause(err: unknown): string {
  return errorMessage(err).replace(/[.\s]+$/, '');
}

function describeFetchError(err: unknown): string {
  const cause = err instanceof Error ? (err.cause as { code?: string } | undefined) : undefined;
  if (err instanceof Error && err.name === 'TimeoutError') return 'no answer in time';
  return cause?.code ? `${clause(err)}: ${cause.code}` : clause(err);
}
