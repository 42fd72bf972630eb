// Which model made a vector, from the model's own files (a label from configuration can lie):
// the fingerprint is the sha256 of the ONNX graph's and the tokenizer's sha256s. The real
// all-MiniLM-L6-v2 (Xenova's int8 export) is recognised by its published file hashes and keeps
// its name; any other model is labelled by its fingerprint. Vectors, cache keys and searches are
// keyed by it, so a stand-in's vectors never pass for the real model's.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';

/** The files a model's identity is computed from (the graph that computes, the tokenizer that feeds it). */
export const FINGERPRINT_FILES = ['onnx/model_quantized.onnx', 'tokenizer.json'] as const;

/**
 * Models recognised by their published file hashes. Xenova/all-MiniLM-L6-v2 `onnx/model_quantized.onnx`
 * (22,972,370 bytes) and `tokenizer.json`: the sha256 of the files in the Hugging Face repo
 * (its Git LFS object ids).
 */
export const PUBLISHED_MODELS: ReadonlyArray<{ label: string; files: Readonly<Record<(typeof FINGERPRINT_FILES)[number], string>> }> = [
  {
    label: 'Xenova/all-MiniLM-L6-v2',
    files: {
      'onnx/model_quantized.onnx': 'afdb6f1a0e45b715d0bb9b11772f032c399babd23bfc31fed1c170afc848bdb1',
      'tokenizer.json': 'da0e79933b9ed51798a3ae27893d3c5fa4a201126cef75586296df9b4d2c62a0',
    },
  },
];

export interface ModelIdentity {
  /** What vectors are labelled with (embedding_model): the published name, or `sha256:<16 hex>` of the fingerprint. */
  label: string;
  /** sha256 hex over the files' sha256s (the cache key's model part). */
  fingerprint: string;
  /** sha256 of each fingerprinted file. */
  files: Record<string, string>;
  /** The files are a published model's. */
  recognised: boolean;
}

/** The fingerprint of a set of file hashes (pure). */
export function fingerprintOf(files: Readonly<Record<string, string>>): string {
  const h = createHash('sha256').update('aqe-model-fingerprint-v1\n');
  for (const name of FINGERPRINT_FILES) h.update(`${name} ${files[name] ?? 'absent'}\n`);
  return h.digest('hex');
}

/** The identity of a model whose files have these hashes (pure). */
export function identityOf(files: Readonly<Record<string, string>>): ModelIdentity {
  const fingerprint = fingerprintOf(files);
  const known = PUBLISHED_MODELS.find((m) => FINGERPRINT_FILES.every((f) => m.files[f] === files[f]));
  return { label: known ? known.label : `sha256:${fingerprint.slice(0, 16)}`, fingerprint, files: { ...files }, recognised: known !== undefined };
}

/** The identity of the published all-MiniLM-L6-v2 (what a download of it gives). */
export const PUBLISHED_MINILM: ModelIdentity = identityOf(PUBLISHED_MODELS[0]!.files);

/**
 * Hashes the fingerprinted files of the model folder `dir` (about 0.1 s for the 23 MB graph).
 * Throws (ENOENT…) when a file is missing: the caller reports the folder as unusable.
 */
export async function identifyModelDir(dir: string): Promise<ModelIdentity> {
  const files: Record<string, string> = {};
  for (const name of FINGERPRINT_FILES) files[name] = await sha256File(path.join(dir, name));
  return identityOf(files);
}

/** true when `dir` holds every fingerprinted file. */
export async function hasModelFiles(dir: string): Promise<boolean> {
  for (const name of FINGERPRINT_FILES) {
    const s = await stat(path.join(dir, name)).catch(() => null);
    if (!s?.isFile()) return false;
  }
  return true;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
