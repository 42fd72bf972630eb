import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFloat32Blob,
  PLAUSIBLE_FROM_MS,
  PLAUSIBLE_TO_MS,
  parseJsonEmbedding,
  parseJsonText,
  parseTimestamp,
  stripNul,
  toBoolean,
  toJsonSafe,
} from './values.js';

const f32 = (v: number[]) => {
  const b = Buffer.alloc(v.length * 4);
  for (const [i, x] of v.entries()) b.writeFloatLE(x, i * 4);
  return b;
};
const plausibleMs = fc.integer({ min: PLAUSIBLE_FROM_MS, max: PLAUSIBLE_TO_MS - 1 });

describe('parseTimestamp', () => {
  it('reads each encoding under its explicit rule', () => {
    expect(parseTimestamp(1736121600123, 'unix-ms').date?.toISOString()).toBe('2025-01-06T00:00:00.123Z');
    expect(parseTimestamp(1736121600000, 'unix-ms-seconds').date?.toISOString()).toBe('2025-01-06T00:00:00.000Z');
    expect(parseTimestamp(1736121600, 'unix-s').date?.toISOString()).toBe('2025-01-06T00:00:00.000Z');
    expect(parseTimestamp(1736121600n, 'unix-s').date?.toISOString()).toBe('2025-01-06T00:00:00.000Z');
    expect(parseTimestamp('2025-01-06 00:00:01', 'sqlite-text').date?.toISOString()).toBe('2025-01-06T00:00:01.000Z');
    expect(parseTimestamp('2025-01-06T02:00:00.5+02:00', 'iso').date?.toISOString()).toBe('2025-01-06T00:00:00.500Z');
  });

  it('reads SQLite text stored in an INTEGER column of a ms column by its form', () => {
    const rule = ['unix-ms', 'sqlite-text', 'iso'] as const;
    expect(parseTimestamp('2025-01-06 00:00:00', rule).date?.toISOString()).toBe('2025-01-06T00:00:00.000Z');
    expect(parseTimestamp(1736121600000, rule).date?.toISOString()).toBe('2025-01-06T00:00:00.000Z');
  });

  it('keeps the raw value of an extended-year ISO timestamp instead of a date', () => {
    expect(parseTimestamp('+051234-01-01T00:00:00.000Z', 'iso')).toEqual({ date: null, raw: '+051234-01-01T00:00:00.000Z', implausible: true });
  });

  it('reads every number by its magnitude, whatever the column rule says', () => {
    const at = '2025-01-06T00:00:00.000Z';
    for (const rule of ['unix-ms', 'unix-s', 'iso', ['unix-s', 'sqlite-text', 'iso']] as const) {
      expect(parseTimestamp(1736121600, rule)).toEqual({ date: new Date(at), unit: 's' });
      expect(parseTimestamp(1736121600000, rule)).toEqual({ date: new Date(at), unit: 'ms' });
      expect(parseTimestamp(1736121600000000, rule)).toEqual({ date: new Date(at), unit: 'us' });
      expect(parseTimestamp(1736121600000000000n, rule)).toEqual({ date: new Date(at), unit: 'ns' });
    }
    // claude-flow 3.x: strftime('%s','now') * 1000 in a column 2.x filled with seconds
    expect(parseTimestamp(1736121600000, 'unix-s').date?.toISOString()).toBe(at);
    expect(parseTimestamp(1736121600.25, 'unix-s').date?.toISOString()).toBe('2025-01-06T00:00:00.250Z');
    expect(parseTimestamp('1736121600000', 'unix-s').date?.toISOString()).toBe(at);
  });

  it('reads every date text, whatever the column rule says (zone-less text is UTC)', () => {
    expect(parseTimestamp('2025-01-06 00:00:00', 'iso').date?.toISOString()).toBe('2025-01-06T00:00:00.000Z');
    expect(parseTimestamp('2025-01-06T00:00:00', 'unix-ms').date?.toISOString()).toBe('2025-01-06T00:00:00.000Z');
    expect(parseTimestamp('2025-01-06T00:00:00.123456', 'iso').date?.toISOString()).toBe('2025-01-06T00:00:00.123Z');
    expect(parseTimestamp('2025-01-06 02:00:00+02:00', 'sqlite-text').date?.toISOString()).toBe('2025-01-06T00:00:00.000Z');
    expect(parseTimestamp('2025-01-06', 'iso').date?.toISOString()).toBe('2025-01-06T00:00:00.000Z');
  });

  it('a real timestamp between 2000 and 2100 is never implausible, under any rule', () => {
    const rules = fc.constantFrom<Parameters<typeof parseTimestamp>[1]>('unix-ms', 'unix-s', 'unix-us', 'sqlite-text', 'iso', ['unix-ms', 'sqlite-text', 'iso']);
    fc.assert(
      fc.property(plausibleMs, rules, (ms, rule) => {
        const d = new Date(ms);
        const sec = Math.floor(ms / 1000);
        return (
          parseTimestamp(ms, rule).date?.getTime() === ms &&
          parseTimestamp(sec, rule).date?.getTime() === sec * 1000 &&
          parseTimestamp(BigInt(ms) * 1000n, rule).date?.getTime() === ms &&
          parseTimestamp(d.toISOString(), rule).date?.getTime() === ms &&
          parseTimestamp(d.toISOString().slice(0, 19).replace('T', ' '), rule).date?.getTime() === sec * 1000
        );
      }),
      { numRuns: 500 },
    );
  });

  it('keeps what is not a date between 2000 and 2100 raw', () => {
    expect(parseTimestamp('2025-02-30 00:00:00', 'sqlite-text').implausible).toBe(true);
    expect(parseTimestamp('task-started', 'iso').implausible).toBe(true);
    expect(parseTimestamp(42, 'unix-ms')).toEqual({ date: null, raw: 42, implausible: true });
    expect(parseTimestamp(-1736121600, 'unix-s').implausible).toBe(true);
    expect(parseTimestamp('1999-12-31 23:59:59', 'sqlite-text').implausible).toBe(true);
  });

  it('maps NULL to NULL without a raw value', () => {
    expect(parseTimestamp(null, 'unix-ms')).toEqual({ date: null });
  });

  it('is total: never throws, returns a date or keeps the raw value', () => {
    const rules = fc.constantFrom<Parameters<typeof parseTimestamp>[1]>('unix-ms', 'unix-s', 'sqlite-text', 'iso', ['unix-ms', 'sqlite-text', 'iso'], ['unix-s', 'iso']);
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.double(), fc.bigInt(), fc.string(), fc.date({ noInvalidDate: false }).map(String)), rules, (v, rule) => {
        const r = parseTimestamp(v, rule);
        if (v === null || v === undefined) return r.date === null && r.raw === undefined;
        return (r.date instanceof Date && !Number.isNaN(r.date.getTime())) || (r.date === null && r.implausible === true && Object.is(r.raw, v));
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips plausible instants in every encoding', () => {
    fc.assert(
      fc.property(plausibleMs, (ms) => {
        const d = new Date(ms);
        const sec = Math.floor(ms / 1000) * 1000;
        return (
          parseTimestamp(ms, 'unix-ms').date?.getTime() === ms &&
          parseTimestamp(sec / 1000, 'unix-s').date?.getTime() === sec &&
          parseTimestamp(d.toISOString(), 'iso').date?.getTime() === ms &&
          parseTimestamp(d.toISOString().slice(0, 19).replace('T', ' '), 'sqlite-text').date?.getTime() === sec
        );
      }),
    );
  });
});

describe('parseJsonText', () => {
  it('keeps valid JSON as JSON and plain text as a JSON string', () => {
    expect(parseJsonText('{"a":[1,2]}')).toEqual({ value: { a: [1, 2] }, kind: 'json', nulRemoved: 0 });
    expect(parseJsonText('task-started')).toEqual({ value: 'task-started', kind: 'string', nulRemoved: 0 });
  });

  it('keeps HTML and SQL-looking text verbatim', () => {
    const html = '<div><script>alert(1)</script></div>';
    expect(parseJsonText(html).value).toBe(html);
    expect(parseJsonText("'; DROP TABLE x; --").value).toBe("'; DROP TABLE x; --");
  });

  it('strips and counts NUL, in raw text and in JSON escapes', () => {
    expect(parseJsonText('raw\u0000bytes\u0000')).toMatchObject({ value: 'rawbytes', nulRemoved: 2 });
    expect(parseJsonText('{"log":"a\\u0000b"}')).toMatchObject({ value: { log: 'ab' }, kind: 'json', nulRemoved: 1 });
  });

  it('keeps JSON with a number beyond double range as the original text', () => {
    const r = parseJsonText('{"x":1e400}');
    expect(r.kind).toBe('string');
    expect(r.value).toBe('{"x":1e400}');
    expect(r.note).toMatch(/double range/);
  });

  it('never loses text: a string result always equals the NUL-stripped input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const r = parseJsonText(s);
        if (r.kind === 'string') return r.value === stripNul(s).text;
        return JSON.stringify(r.value) !== undefined;
      }),
    );
  });

  it('decides text starting with a digit or minus exactly as JSON.parse would (the number shortcut)', () => {
    const numberish = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
      fc.integer().map(String),
      fc.stringMatching(/^[ \t]?-?[0-9]{1,4}(\.[0-9]{0,3})?([eE][+-]?[0-9]{0,3})?[ a-z0-9.]{0,4}$/),
    );
    fc.assert(
      fc.property(numberish, (s) => {
        let parsed: unknown;
        let ok = true;
        try {
          parsed = JSON.parse(s);
        } catch {
          ok = false;
        }
        const r = parseJsonText(s);
        // not JSON, or a number beyond the double range: kept verbatim as a string
        if (!ok || !Number.isFinite(parsed)) return r.kind === 'string' && r.value === s;
        return r.kind === 'json' && r.value === parsed;
      }),
      { numRuns: 2000 },
    );
    expect(parseJsonText('5 apples')).toEqual({ value: '5 apples', kind: 'string', nulRemoved: 0 });
    expect(parseJsonText(' -12.5e3 ')).toEqual({ value: -12500, kind: 'json', nulRemoved: 0 });
  });
});

describe('embeddings', () => {
  it('decodes Float32 little-endian BLOBs of the recorded dimension', () => {
    const r = decodeFloat32Blob(f32([0.5, -1, 2]), 3);
    expect(r).toEqual({ ok: true, vector: [0.5, -1, 2] });
  });

  it('refuses a BLOB whose length is not dim * 4', () => {
    expect(decodeFloat32Blob(f32([1, 2, 3]), 384)).toMatchObject({ ok: false, problem: expect.stringMatching(/dimension 384/) });
    expect(decodeFloat32Blob(Buffer.alloc(7))).toMatchObject({ ok: false });
  });

  it('refuses non-finite values', () => {
    expect(decodeFloat32Blob(f32([1, Number.NaN]))).toMatchObject({ ok: false, problem: expect.stringMatching(/value 1/) });
  });

  it('checks JSON-array embeddings', () => {
    expect(parseJsonEmbedding('[1,2.5]', 2)).toEqual({ ok: true, vector: [1, 2.5] });
    expect(parseJsonEmbedding([1, 'x'])).toMatchObject({ ok: false });
    expect(parseJsonEmbedding('[1,2]', 3)).toMatchObject({ ok: false });
    expect(parseJsonEmbedding('not json')).toMatchObject({ ok: false });
  });

  it('round-trips any finite float32 vector', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true, noDefaultInfinity: true }), { maxLength: 64 }), (v) => {
        const r = decodeFloat32Blob(f32(v), v.length);
        return r.ok && r.vector.every((x, i) => Object.is(x, v[i]) || x === v[i]);
      }),
    );
  });
});

describe('scalars', () => {
  it('reads booleans from 0/1 only', () => {
    expect([toBoolean(0), toBoolean(1), toBoolean(1n), toBoolean(null), toBoolean(2), toBoolean('1')]).toEqual([false, true, true, null, undefined, undefined]);
  });

  it('makes BLOBs, big integers and non-finite numbers JSON-safe', () => {
    expect(toJsonSafe(Buffer.from([1, 2, 3]))).toEqual({ $base64: 'AQID' });
    expect(toJsonSafe(2n ** 64n)).toBe('18446744073709551616');
    expect(toJsonSafe(5n)).toBe(5);
    expect(toJsonSafe(Number.POSITIVE_INFINITY)).toBe('Infinity');
  });
});
