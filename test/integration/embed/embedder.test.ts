// The real loading path (transformers.js + onnxruntime-node) with the stand-in model of the
// fixtures: vectors, batching, memoisation, and every way loading fails.
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODEL_FINGERPRINT, loadEmbedder, MODEL_FILES } from '../../../functions/embed/embedder.js';
import { identifyModelDir, identityOf } from '../../../functions/embed/model-identity.js';
import { textHash } from '../../../functions/embed/text-hash.js';
import { isAppError } from '../../../schema/errors.js';
import { tinyOnnxModel } from './tiny-onnx.js';

const STANDIN = fileURLToPath(new URL('../../../assets/models/all-MiniLM-L6-v2-standin', import.meta.url));
/** The stand-in's label: from its files' fingerprint, whatever id it is given. */
const STANDIN_ID = 'sha256:846083dab7574b30';

const cosine = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * (b[i] as number), 0);
const norm = (a: Float32Array) => Math.sqrt(cosine(a, a));

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'aqe-embedder-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A copy of the stand-in model folder, with its ONNX file replaced or removed when asked. */
async function modelFolder(name: string, onnx?: Uint8Array | 'remove'): Promise<string> {
  const dir = path.join(tmp, name);
  await cp(STANDIN, dir, { recursive: true });
  if (onnx === 'remove') await rm(path.join(dir, 'onnx'), { recursive: true });
  else if (onnx) await writeFile(path.join(dir, 'onnx', 'model_quantized.onnx'), onnx);
  return dir;
}

/** The rejection of `promise` and how long it took. */
async function failure(promise: Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const started = performance.now();
  try {
    await promise;
  } catch (err) {
    return { err, ms: performance.now() - started };
  }
  throw new Error('expected a rejection');
}

describe('loadEmbedder with a local model folder', () => {
  it('embeds texts as 384-d unit vectors where texts sharing words rank above unrelated ones', async () => {
    const embedder = await loadEmbedder({ modelDir: STANDIN, modelId: STANDIN_ID });
    expect(embedder.modelId).toBe(STANDIN_ID);
    expect(embedder.dimension).toBe(384);
    const [query, related, unrelated] = await embedder.embed([
      'retry flaky network tests',
      'flaky network tests need a retry with backoff',
      'database schema migration for the billing service',
    ]);
    for (const v of [query, related, unrelated]) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v!.length).toBe(384);
      expect(norm(v!)).toBeCloseTo(1, 5);
    }
    expect(cosine(query!, related!)).toBeGreaterThan(cosine(query!, unrelated!) + 0.2);
    expect(embedder.inferences).toBe(3);
  });

  it('returns vectors in input order across batches and counts every text run', async () => {
    const embedder = await loadEmbedder({ modelDir: STANDIN, modelId: STANDIN_ID, batchSize: 2 });
    const texts = ['a much longer text about coverage of the payment api', 'short', 'medium length text here', 'x y', 'coverage'];
    const batched = await embedder.embed(texts);
    expect(embedder.inferences).toBe(5);
    for (const [i, text] of texts.entries()) {
      const [alone] = await embedder.embed([text]);
      for (let k = 0; k < 384; k++) expect(batched[i]![k]).toBeCloseTo(alone![k]!, 5);
    }
    expect(embedder.inferences).toBe(10);
    expect(await embedder.embed([])).toEqual([]);
    expect(embedder.inferences).toBe(10);
  });

  it('loads a model folder once per process (a second load does not read the folder again)', async () => {
    const dir = await modelFolder('memoised');
    const first = await loadEmbedder({ modelDir: dir, modelId: STANDIN_ID });
    const [before] = await first.embed(['contract tests']);
    await rm(dir, { recursive: true });
    const second = await loadEmbedder({ modelDir: dir, modelId: STANDIN_ID });
    const [after] = await second.embed(['contract tests']);
    expect(Array.from(after!)).toEqual(Array.from(before!));
    expect(second.inferences).toBe(1);
  });

  it('fails fast with MODEL_UNAVAILABLE and says how to provide the model when the folder is missing', async () => {
    const { err, ms } = await failure(loadEmbedder({ modelDir: path.join(tmp, 'no-such-model') }));
    expect(isAppError(err, 'MODEL_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('no-such-model');
    expect((err as Error).message).toContain('AQE_MODEL_DIR');
    expect((err as Error).message).toContain('onnx/model_quantized.onnx');
    expect((err as Error).message).toContain('Xenova/all-MiniLM-L6-v2');
    expect(ms).toBeLessThan(5_000);
  });

  it('names the missing files of an incomplete model folder, and loads once they are provided', async () => {
    const dir = await modelFolder('incomplete', 'remove');
    const { err } = await failure(loadEmbedder({ modelDir: dir, modelId: STANDIN_ID }));
    expect(isAppError(err, 'MODEL_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain(`${dir} lacks onnx/model_quantized.onnx`);
    // The failure is not remembered: once the file is there the same load succeeds.
    await cp(path.join(STANDIN, 'onnx'), path.join(dir, 'onnx'), { recursive: true });
    const embedder = await loadEmbedder({ modelDir: dir, modelId: STANDIN_ID });
    expect((await embedder.embed(['now it works']))[0]!.length).toBe(384);
  });

  it('fails with MODEL_UNAVAILABLE on a corrupt ONNX file', async () => {
    const dir = await modelFolder('corrupt', new Uint8Array(Buffer.from('this is not an onnx model, just some bytes')));
    const { err, ms } = await failure(loadEmbedder({ modelDir: dir, modelId: STANDIN_ID }));
    expect(isAppError(err, 'MODEL_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('could not load the embedding model');
    expect((err as Error).message).toContain('AQE_MODEL_DIR');
    expect(ms).toBeLessThan(5_000);
  });

  it('refuses a model whose vectors are not 384-d with MODEL_DIMENSION', async () => {
    const dir = await modelFolder('eight-dims', tinyOnnxModel(8));
    const { err } = await failure(loadEmbedder({ modelDir: dir, modelId: 'tiny-8' }));
    expect(isAppError(err, 'MODEL_DIMENSION')).toBe(true);
    expect((err as Error).message).toMatch(/shape \[1, 8\].*expected 384-dimensional vectors/);
  });

  it('lists the files a model folder needs', () => {
    expect(MODEL_FILES).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'onnx/model_quantized.onnx']);
  });
});

describe('loadEmbedder without a model folder', () => {
  it('fails fast with MODEL_UNAVAILABLE when the hub cannot be reached and nothing is cached', async () => {
    const cacheDir = path.join(tmp, 'empty-cache');
    // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    const { err, ms } = await failure(loadEmbedder({ remoteHost: 'http://127.0.0.1:9/', cacheDir, probeTimeoutMs: 2_000 }));
    expect(isAppError(err, 'MODEL_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('Xenova/all-MiniLM-L6-v2 is not cached');
    expect((err as Error).message).toContain('AQE_MODEL_DIR');
    expect(ms).toBeLessThan(5_000);
  });

  it('gives up on a hub that accepts connections but never answers, after the probe timeout', async () => {
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const server = net.createServer((socket) => sockets.push(socket)); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    try {
      const { err, ms } = await failure(
        loadEmbedder({ remoteHost: `http://127.0.0.1:${port}/`, cacheDir: path.join(tmp, 'empty-cache-2'), probeTimeoutMs: 500 }),
      );
      expect(isAppError(err, 'MODEL_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toContain('no answer in time');
      expect(ms).toBeLessThan(3_000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('gives up on a download that takes longer than the download timeout', async () => {
    const http = await import('node:http');
    // Answers the reachability probe, then never finishes sending a file.
    const server = http.createServer((req, res) => {
      if (req.method === 'HEAD') res.writeHead(200).end();
      else res.writeHead(200, { 'content-length': '1000000' }).write('{');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as import('node:net').AddressInfo;
    try {
      const { err, ms } = await failure(
        loadEmbedder({ remoteHost: `http://127.0.0.1:${port}/`, cacheDir: path.join(tmp, 'empty-cache-3'), downloadTimeoutMs: 700 }),
      );
      expect(isAppError(err, 'MODEL_UNAVAILABLE')).toBe(true);
      expect((err as Error).message).toContain('took over 0.7 s');
      expect(ms).toBeLessThan(3_000);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('labels vectors by the model\'s files, not by the id it is given: a stand-in never passes for the real model', async () => {
    const embedder = await loadEmbedder({ modelDir: STANDIN, modelId: 'Xenova/all-MiniLM-L6-v2' });
    const identity = await identifyModelDir(STANDIN);
    expect(identity.recognised).toBe(false);
    expect(embedder.modelId).toBe(identity.label);
    expect(embedder.modelId).toBe(STANDIN_ID);
    expect(embedder.fingerprint).toBe(identity.fingerprint);
    expect(embedder.fingerprint).not.toBe(DEFAULT_MODEL_FINGERPRINT);
    // the cache key follows the fingerprint: the stand-in's vector of a text is never the real model's
    expect(textHash(embedder.fingerprint, 'same text')).not.toBe(textHash(DEFAULT_MODEL_FINGERPRINT, 'same text'));
  });

  it('recognises the published all-MiniLM-L6-v2 by its file hashes, anything else by its fingerprint', () => {
    const published = identityOf({
      'onnx/model_quantized.onnx': 'afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1',
      'tokenizer.json': 'da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0',
    });
    expect(published).toMatchObject({ label: 'Xenova/all-MiniLM-L6-v2', recognised: true, fingerprint: DEFAULT_MODEL_FINGERPRINT });
    // the real tokenizer with another graph (the stand-in's) is another model
    const other = identityOf({ 'onnx/model_quantized.onnx': '1416d843532756e8a4286b3370fc015c54f693ac0707e45c5b45a7e81485bb8b', 'tokenizer.json': published.files['tokenizer.json']! });
    expect(other.recognised).toBe(false);
    expect(other.label).toBe(`sha256:${other.fingerprint.slice(0, 16)}`);
  });

  it('loads from the library cache without touching the network', async () => {
    // The library's file cache keeps <cacheDir>/<model id>/<file>: a folder laid out that way loads
    // with the hub unreachable.
    const cacheDir = path.join(tmp, 'filled-cache');
    await cp(STANDIN, path.join(cacheDir, 'aqe', 'cached-standin'), { recursive: true });
    const embedder = await loadEmbedder({ modelId: 'aqe/cached-standin', remoteHost: 'http://127.0.0.1:9/', cacheDir });
    expect((await embedder.embed(['from the cache']))[0]!.length).toBe(384);
  });
});
