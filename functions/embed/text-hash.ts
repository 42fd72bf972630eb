// Cache key of an embedding: which model saw which text. Shared by the embedding cache, the
// `embedding_text_hash` column and reconcile's backfill, so all three agree on "unchanged text".
import { createHash } from 'node:crypto';

/**
 * sha256 hex of `model + '\n' + text`, where `model` is the model's fingerprint (the sha256 of
 * its files, model-identity.ts): vectors of different models (different spaces) are never confused. Throws a TypeError for a model id
 * with a newline (it would make the key ambiguous).
 *
 * @example textHash('Xenova/all-MiniLM-L6-v2', 'flaky test retry') // → '3f1c…' (64 hex)
 */
export function textHash(modelId: string, text: string): string {
  // With a newline in the id, two different (model, text) pairs could hash alike.
  if (modelId.includes('\n')) throw new TypeError(`textHash: model id must not contain a newline, got ${JSON.stringify(modelId)}`);
  return createHash('sha256').update(modelId).update('\n').update(text).digest('hex');
}
