// Text and JSON for parameters outside COPY: whatever a source held, PostgreSQL's rules hold.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonForDb, textForDb } from './db-text.js';

const wellFormed = (s: string) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

describe('textForDb / jsonForDb', () => {
  it('drops NUL and replaces unpaired surrogates, keeping everything else', () => {
    expect(textForDb('a\u0000b\udc8ec\ud83d\ude00')).toBe('ab\ufffdc\ud83d\ude00');
    expect(jsonForDb({ '\udc8e': ['x\u0000y', '\\u0000 is data', 'ok \ud83d\ude00'] })).toBe('{"\\ufffd":["xy","\\\\u0000 is data","ok \ud83d\ude00"]}');
  });

  it('any value gives JSON that parses back to the same shape, with no NUL and no unpaired surrogate (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string({ unit: 'binary' }), (v, s) => {
        const text = jsonForDb({ v, [s]: s });
        const back = JSON.parse(text) as unknown;
        const all = JSON.stringify(back);
        return !/\\u0000/.test(text.replace(/\\\\/g, '')) && wellFormed(text) && !/\\ud[89a-f]/i.test(text.replace(/\\\\/g, '')) && typeof all === 'string';
      }),
      { numRuns: 2000 },
    );
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => !textForDb(s).includes('\u0000') && wellFormed(textForDb(s))));
  });
});
