// The COPY text encoders: timestamps formatted by hand must equal Date#toISOString everywhere.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCopyValue, isSha256Hex, isoTimestamp, sha256CopyText, storedHashHex } from './copy-encoding.js';

describe('isoTimestamp', () => {
  it('equals Date#toISOString for any millisecond, including outside years 0000–9999', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 253_402_300_799_999 }), fc.integer({ min: -8.64e15, max: 8.64e15 })), (ms) => isoTimestamp(ms) === new Date(ms).toISOString()),
      { numRuns: 20_000 },
    );
  });

  it('handles day boundaries and repeated days (the cached date part)', () => {
    for (const ms of [0, 86_399_999, 86_400_000, 1_736_121_600_000, 1_736_121_600_001, 253_402_300_799_999, 951_782_400_000 /* 2000-02-29 */]) {
      expect(isoTimestamp(ms)).toBe(new Date(ms).toISOString());
    }
    expect(encodeCopyValue(1_736_121_600_123, 'timestamptz')).toBe('2025-01-06T00:00:00.123Z');
  });
});

describe('hashes stored as bytes (migration 025)', () => {
  const hex = 'ab'.repeat(32);
  it('a sha256 in hex travels as bytea hex form, escaped for COPY: its own 32 bytes', () => {
    expect(sha256CopyText(hex)).toBe(`\\\\x${hex}`);
    expect(encodeCopyValue(hex, 'bytea')).toBe(`\\\\x${hex}`);
    expect(sha256CopyText(Buffer.from(hex, 'hex'))).toBe(`\\\\x${hex}`);
    expect(storedHashHex(hex)).toBe(hex);
  });

  it('any other string is stored as its UTF-8 bytes, as the migration converts such a value; a non-string is refused', () => {
    expect(storedHashHex('h1')).toBe('6831');
    expect(storedHashHex(hex.toUpperCase())).toBe(Buffer.from(hex.toUpperCase()).toString('hex'));
    expect(sha256CopyText('h1')).toBe('\\\\x6831');
    expect(() => sha256CopyText(42)).toThrow(/bytea value: expected a hash/);
  });

  it('tells a sha256 hex exactly as /^[0-9a-f]{64}$/ does (a loop, for speed)', () => {
    const near = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEFg/:`@G \n'), minLength: 62, maxLength: 66 }),
      fc.string({ unit: 'binary', maxLength: 70 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
    );
    fc.assert(fc.property(near, (text) => isSha256Hex(text) === /^[0-9a-f]{64}$/.test(text)), { numRuns: 2_000 });
  });
});
