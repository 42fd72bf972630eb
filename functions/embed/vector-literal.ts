// Vectors as the text literal every vector dialect accepts (`'[0.1,-0.2,…]'`): ruvector has no
// binary format in common with pgvector and no casts, so vectors are always written as text.

/**
 * `[x1,x2,…]` with 9 significant digits (enough to round-trip a float32 exactly), trailing zeros
 * trimmed. Throws a TypeError for a non-finite component (NaN/Infinity would be rejected by the
 * server anyway, with a less helpful message).
 *
 * @example toVectorLiteral(new Float32Array([0.5, -0.25])) // → '[0.5,-0.25]'
 */
export function toVectorLiteral(vector: Float32Array | readonly number[]): string {
  const parts: string[] = new Array(vector.length);
  for (let i = 0; i < vector.length; i++) {
    const x = vector[i] as number;
    if (!Number.isFinite(x)) throw new TypeError(`vector[${i}]: expected a finite number, got ${x}`);
    parts[i] = x === 0 ? '0' : String(Number(x.toPrecision(9)));
  }
  return `[${parts.join(',')}]`;
}

/** The vector of a `[x1,x2,…]` literal (as the server prints vector values) or of a real[]'s `{x1,x2,…}`. Throws a TypeError when malformed. */
export function parseVectorLiteral(literal: string): Float32Array {
  const trimmed = literal.trim();
  // `{…}` is how a real[] column prints (dialect none); `[…]` how pgvector and ruvector print
  const bracketed = trimmed.startsWith('[') && trimmed.endsWith(']');
  const braced = trimmed.startsWith('{') && trimmed.endsWith('}');
  if (!bracketed && !braced) {
    throw new TypeError(`vector literal: expected "[x1,x2,…]" or "{x1,x2,…}", got "${trimmed.slice(0, 40)}"`);
  }
  const body = trimmed.slice(1, -1).trim();
  if (body === '') return new Float32Array(0);
  const parts = body.split(',');
  const out = new Float32Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const x = Number(parts[i]);
    if (!Number.isFinite(x) || (parts[i] as string).trim() === '') {
      throw new TypeError(`vector literal: component ${i} is not a finite number: "${parts[i]}"`);
    }
    out[i] = x;
  }
  return out;
}
