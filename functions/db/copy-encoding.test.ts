// The COPY text encoders: timestamps formatted by hand must equal Date#toISOString everywhere.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCopyValue, isoTimestamp } from './copy-encoding.js';

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
