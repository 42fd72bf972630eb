import { describe, expect, it } from 'vitest';
import { SOURCE_ID_PATTERN } from '../../schema/sources/catalogue.js';
import { sourceIdFor } from './source-identity.js';

describe('sourceIdFor', () => {
  const paths = ['v3/.agentic-qe/memory.db', 'v3-old/.agentic-qe/memory.db'];

  it('keeps the id for the only path, and for the catalogue default path of several', () => {
    expect(sourceIdFor('v3-memory', ['custom/memory.db'], 'custom/memory.db')).toBe('v3-memory');
    expect(sourceIdFor('v3-memory', paths, 'v3/.agentic-qe/memory.db')).toBe('v3-memory');
  });

  it('gives every other path of a source its own stable id, whatever the order of the list', () => {
    const old = sourceIdFor('v3-memory', paths, 'v3-old/.agentic-qe/memory.db');
    expect(old).toMatch(/^v3-memory-v3-old-agentic-qe-memory-db-[0-9a-f]{6}$/);
    expect(sourceIdFor('v3-memory', [...paths].reverse(), 'v3-old/.agentic-qe/memory.db')).toBe(old);
    expect(sourceIdFor('v3-memory', ['a.b/x.db', 'a-b/x.db'], 'a.b/x.db')).not.toBe(sourceIdFor('v3-memory', ['a.b/x.db', 'a-b/x.db'], 'a-b/x.db'));
  });

  it('stays a valid source id for long paths', () => {
    const long = `${'deep/'.repeat(40)}memory.db`;
    const id = sourceIdFor('ruvector-intelligence', ['v3/.ruvector/intelligence.json', long], long);
    expect(id).toMatch(SOURCE_ID_PATTERN);
    expect(id.length).toBeLessThanOrEqual(63);
  });
});
