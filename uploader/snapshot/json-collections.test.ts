import { describe, expect, it } from 'vitest';
import { jsonCollections, jsonFingerprint } from './json-collections.js';

describe('jsonCollections', () => {
  it('counts intelligence.json collections, not its top-level keys, and skips stats', () => {
    const doc = { patterns: { 'a|b': {}, 'c|d': {} }, memories: [1, 2, 3], trajectories: [], stats: { total: 9 }, version: '1' };
    expect(jsonCollections('ruvector-intelligence', doc, 'intelligence.json')).toEqual([
      { name: 'memories', rows: 3 },
      { name: 'patterns', rows: 2 },
      { name: 'trajectories', rows: 0 },
    ]);
  });
  it('counts store.json entries, and namespaces in the v2 layout', () => {
    expect(jsonCollections('claude-flow-store', { version: '3', entries: { a: {}, b: {} } }, 'store.json')).toEqual([{ name: 'entries', rows: 2 }]);
    expect(jsonCollections('claude-flow-store', { default: [{}, {}], swarm: [{}] }, 'store.json')).toEqual([
      { name: 'default', rows: 2 },
      { name: 'swarm', rows: 1 },
    ]);
  });
  it('counts a metrics file as its array length or one object, named after the file', () => {
    expect(jsonCollections('claude-flow-metrics', [{}, {}, {}], 'system-metrics.json')).toEqual([{ name: 'system-metrics', rows: 3 }]);
    expect(jsonCollections('claude-flow-metrics', { a: 1 }, 'performance.json')).toEqual([{ name: 'performance', rows: 1 }]);
  });
  it('counts daemon workers', () => {
    expect(jsonCollections('claude-flow-daemon', { running: true, workers: { map: {}, audit: {} } }, 'daemon-state.json')).toEqual([{ name: 'workers', rows: 2 }]);
  });
});

describe('jsonFingerprint', () => {
  it('depends on the key set, not on key order or values', () => {
    expect(jsonFingerprint({ a: 1, b: 2 })).toBe(jsonFingerprint({ b: 3, a: 4 }));
    expect(jsonFingerprint({ a: 1 })).not.toBe(jsonFingerprint({ a: 1, c: 1 }));
  });
});
