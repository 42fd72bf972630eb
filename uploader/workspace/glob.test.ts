import { describe, expect, it } from 'vitest';
import { globToRegExp, matchingExclude } from './glob.js';

describe('globToRegExp', () => {
  it('matches * within one segment only', () => {
    expect(globToRegExp('.claude-flow/metrics/*.json').test('.claude-flow/metrics/a.json')).toBe(true);
    expect(globToRegExp('.claude-flow/metrics/*.json').test('.claude-flow/metrics/x/a.json')).toBe(false);
  });
  it('matches ** across segments', () => {
    expect(globToRegExp('**/memory.db').test('v3/.agentic-qe/memory.db')).toBe(true);
    expect(globToRegExp('**/memory.db').test('memory.db')).toBe(true);
    expect(globToRegExp('v3/**').test('v3/a/b')).toBe(true);
  });
  it('treats a pattern without a slash as a base name anywhere', () => {
    expect(globToRegExp('*.tmp.json').test('.claude-flow/metrics/a.tmp.json')).toBe(true);
    expect(globToRegExp('?.json').test('a/b.json')).toBe(true);
    expect(globToRegExp('?.json').test('a/bc.json')).toBe(false);
  });
  it('escapes regex characters', () => {
    expect(globToRegExp('a+b.json').test('a+b.json')).toBe(true);
    expect(globToRegExp('a+b.json').test('aab.json')).toBe(false);
  });
});

describe('matchingExclude', () => {
  it('excludes everything below an excluded folder', () => {
    expect(matchingExclude('.claude-flow/metrics/a.json', ['.claude-flow/metrics'])).toBe('.claude-flow/metrics');
    expect(matchingExclude('.claude-flow/metricsx/a.json', ['.claude-flow/metrics'])).toBeNull();
  });
});
