import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, contentHash, flatRowHasher, keyFromValues, OccurrenceKeys } from './row-identity.js';

describe('contentHash', () => {
  it('does not depend on key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const reversed = Object.fromEntries(Object.entries(obj).reverse());
        return contentHash(obj) === contentHash(reversed);
      }),
    );
  });

  it('is stable: the same row always gives the same hash', () => {
    fc.assert(fc.property(fc.anything(), (v) => contentHash(v) === contentHash(structuredCloneSafe(v))));
  });

  it('hashes BLOBs by their bytes', () => {
    expect(contentHash({ b: Buffer.from([1, 2]) })).not.toBe(contentHash({ b: Buffer.from([1, 3]) }));
    expect(contentHash({ b: Buffer.from([1, 2]) })).toBe(contentHash({ b: new Uint8Array([1, 2]) }));
    expect(contentHash({ b: Buffer.from([1, 2]) })).not.toBe(contentHash({ b: 'AQI=' }));
  });

  it('treats an integer read as bigint like the same number', () => {
    expect(contentHash({ n: 5n })).toBe(contentHash({ n: 5 }));
    expect(canonicalJson({ n: 2n ** 60n })).toBe('{"n":{"$bigint":"1152921504606846976"}}');
  });

  it('tells values apart that JSON.stringify would merge', () => {
    expect(contentHash({ x: Number.POSITIVE_INFINITY })).not.toBe(contentHash({ x: null }));
    expect(contentHash(['a', 'b'])).not.toBe(contentHash(['a,b']));
  });
});

describe('keys', () => {
  it('joins composite keys unambiguously', () => {
    fc.assert(
      fc.property(fc.tuple(fc.string(), fc.string()), fc.tuple(fc.string(), fc.string()), (a, b) => {
        const same = a[0] === b[0] && a[1] === b[1];
        return (keyFromValues(a) === keyFromValues(b)) === same;
      }),
    );
  });

  it('keeps single keys as they are', () => {
    expect(keyFromValues(['pattern-1'])).toBe('pattern-1');
    expect(keyFromValues([42n])).toBe('42');
    expect(keyFromValues([null])).toBeUndefined();
    expect(keyFromValues(["x'; DROP TABLE y; --", 'ns'])).toBe('["x\'; DROP TABLE y; --","ns"]');
  });

  it('numbers repeated keys deterministically and keeps them unique', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'a#2')), (bases) => {
        const occ = new OccurrenceKeys();
        const keys = bases.map((b) => occ.next(b));
        const occ2 = new OccurrenceKeys();
        return new Set(keys).size === keys.length && keys.every((k, i) => k === occ2.next(bases[i] as string));
      }),
    );
  });
});

function structuredCloneSafe(v: unknown): unknown {
  try {
    return structuredClone(v);
  } catch {
    return v;
  }
}

describe('flatRowHasher', () => {
  it('hashes a flat row exactly like contentHash', () => {
    const value = fc.oneof(fc.constant(null), fc.string(), fc.double(), fc.bigInt(), fc.uint8Array({ maxLength: 8 }), fc.constant(undefined));
    fc.assert(
      fc.property(fc.dictionary(fc.string(), value, { minKeys: 1 }), (row) => flatRowHasher(Object.keys(row))(row) === contentHash(row)),
      { numRuns: 500 },
    );
  });
});
