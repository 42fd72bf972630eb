import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, describeStep, formatEta } from './progress.js';

describe('progress lines', () => {
  it('show the count, the percentage and an ETA from the rate so far', () => {
    expect(describeStep('embedding', 120, 480, 4000, 120)).toBe('embedding: 120/480 (25%), ETA 12s');
    expect(describeStep('loading', 0, 10, 0, 0)).toBe('loading: 0/10 (0%)');
    expect(describeStep('loading', 10, 10, 5000, 10)).toBe('loading: 10/10 (100%)');
    expect(describeStep('capturing', 1500, 100_000, 1000, 1500)).toBe('capturing: 1,500/100,000 (1%), ETA 1m 6s');
  });

  it('formats an ETA in seconds, minutes or hours', () => {
    expect(formatEta(400)).toBe('1s');
    expect(formatEta(59_000)).toBe('59s');
    expect(formatEta(3_600_000 + 120_000)).toBe('1h 2m');
  });

  it('draws on a TTY only, and erases itself when done', () => {
    const chunks: string[] = [];
    const out = new PassThrough();
    out.on('data', (c: Buffer) => chunks.push(String(c)));
    let t = 0;
    const p = createProgress(out, true, () => t);
    p.step('rebuilding', 0, 4);
    t = 2000;
    p.step('rebuilding', 2, 4);
    p.done();
    expect(chunks.join('')).toBe('\r\x1b[2Krebuilding: 0/4 (0%)\r\x1b[2Krebuilding: 2/4 (50%), ETA 2s\r\x1b[2K');
    const off: string[] = [];
    const quiet = new PassThrough();
    quiet.on('data', (c: Buffer) => off.push(String(c)));
    const none = createProgress(quiet, false);
    none.step('x', 1, 2);
    none.done();
    expect(off).toEqual([]);
  });
});
