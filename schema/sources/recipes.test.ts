import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TARGET_TABLES } from '../tables/target-tables.js';
import { isEmbeddedTable, MAX_SEARCH_TEXT, RECIPE_TABLES, searchTextFor } from './recipes.js';

const embeddedTables = TARGET_TABLES.filter((t) => t.embedded).map((t) => t.name);

/** Same JSON with object keys in reverse order, at every level. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
}

describe('searchTextFor', () => {
  it('has a recipe for exactly the embedded target tables', () => {
    expect([...RECIPE_TABLES].sort()).toEqual([...embeddedTables].sort());
    for (const name of embeddedTables) expect(isEmbeddedTable(name)).toBe(true);
    expect(isEmbeddedTable('q_values')).toBe(false);
  });

  it('returns null for tables that are not embedded and for unknown tables', () => {
    expect(searchTextFor('q_values', { state_key: 'test-run', action_key: 'hello' })).toBeNull();
    expect(searchTextFor('no_such_table', { name: 'x' })).toBeNull();
  });

  it('returns null when a row has nothing meaningful', () => {
    for (const table of embeddedTables) expect(searchTextFor(table, {})).toBeNull();
    expect(searchTextFor('memory_entries', { key: '  ', value: { id: '3f2a9c1e-0b7d-4e3a-9f10-2c4b5d6e7f80', n: 3 } })).toBeNull();
    expect(searchTextFor('intelligence_memories', { content: ' \n\t ' })).toBeNull();
    expect(searchTextFor('patterns', { pattern: '12345', domain: null })).toBeNull();
  });

  it('describes a qe_pattern by name, description, type, domains, tier and template/context strings', () => {
    const text = searchTextFor('qe_patterns', {
      name: 'Retry flaky network tests',
      description: 'Wrap network calls in a retry with backoff.',
      pattern_type: 'test-template',
      qe_domain: 'test-generation',
      domain: 'test-generation',
      tier: 'long-term',
      confidence: 0.9,
      template: { framework: 'jest', steps: ['mock the client', 'assert retries'], maxRetries: 3 },
      context: { tags: ['network', 'flaky'], createdBy: '0123456789abcdef0123' },
    });
    expect(text).toBe(
      'Retry flaky network tests. Wrap network calls in a retry with backoff. test-template. test-generation. long-term. ' +
        'jest mock the client assert retries. network flaky',
    );
  });

  it('keeps a different domain beside the qe_domain', () => {
    const text = searchTextFor('qe_patterns', { name: 'n', qe_domain: 'coverage-analysis', domain: 'api' });
    expect(text).toBe('n. coverage-analysis. api');
  });

  it('describes a sona pattern by type, domain, action and outcome', () => {
    const text = searchTextFor('sona_patterns', {
      type: 'routing',
      domain: 'security',
      action_type: 'select-agent',
      action_value: { agent: 'security-scanner', priority: 2 },
      outcome_success: true,
      metadata: { source: 'sona' },
    });
    expect(text).toBe('routing. security. select-agent. security-scanner priority. succeeded. sona');
  });

  it('describes a pattern by its text and domain, reading JSON pattern text', () => {
    expect(searchTextFor('patterns', { pattern: 'Use page objects for UI tests', domain: 'e2e' })).toBe('Use page objects for UI tests. e2e');
    expect(searchTextFor('patterns', { pattern: '{"summary":"Use page objects","id":"deadbeefdeadbeefdead"}', domain: 'e2e' })).toBe(
      'Use page objects. e2e',
    );
  });

  it('describes a memory entry by key words, partition and the strings of its value', () => {
    const text = searchTextFor('memory_entries', {
      key: 'aqe/patterns/test_gen:42',
      partition: 'learning',
      value: { note: 'Prefer table-driven tests', updatedAt: '2025-11-02T10:00:00Z', score: 0.7, blob: 'A'.repeat(200) },
    });
    expect(text).toBe('aqe patterns test gen 42. learning. Prefer table-driven tests');
  });

  it('reads a JSON value given as text (also double-encoded) like the object', () => {
    const value = { a: 'alpha beta', b: ['gamma'] };
    const fromObject = searchTextFor('claude_flow_memory', { key: 'k', namespace: 'ns', value });
    expect(searchTextFor('claude_flow_memory', { key: 'k', namespace: 'ns', value: JSON.stringify(value) })).toBe(fromObject);
    expect(searchTextFor('claude_flow_memory', { key: 'k', namespace: 'ns', value: JSON.stringify(JSON.stringify(value)) })).toBe(fromObject);
    expect(fromObject).toBe('k. ns. alpha beta gamma');
  });

  it('describes a learning experience by task type, state/action summary, reward and outcome', () => {
    const text = searchTextFor('learning_experiences', {
      task_type: 'test-generation',
      state: { coverage: 0.42, framework: 'vitest' },
      action: { strategy: 'boundary-values', maxTests: 10 },
      reward: 0.8,
      success: true,
    });
    expect(text).toBe('test-generation. state: coverage vitest. action: max tests boundary-values. reward 0.80. succeeded');
  });

  it('describes a GOAP action by name, description, category and precondition/effect keys in words', () => {
    const text = searchTextFor('goap_actions', {
      name: 'run-unit-tests',
      description: 'Run the unit suite',
      category: 'testing',
      preconditions: { hasTests: true, build_ok: true },
      effects: '{"coverageMeasured": true}',
      cost: 2,
    });
    expect(text).toBe('run-unit-tests. Run the unit suite. testing. requires: build ok, has tests. effects: coverage measured');
  });

  it('describes an intelligence memory by its content', () => {
    expect(searchTextFor('intelligence_memories', { memory_type: 'edit', content: '  edited\n src/app.ts\t twice ' })).toBe(
      'edited src/app.ts twice',
    );
  });

  it('caps the text at 1,000 characters on a word boundary', () => {
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const text = searchTextFor('intelligence_memories', { content: long });
    expect(text).not.toBeNull();
    expect(text!.length).toBeLessThanOrEqual(MAX_SEARCH_TEXT);
    expect(long.startsWith(text!)).toBe(true);
    expect(long[text!.length]).toBe(' ');
  });

  it('is deterministic, bounded, normalised and independent of JSON key order (property)', () => {
    const jsonValue = fc.jsonValue({ maxDepth: 3 });
    const values = fc.dictionary(
      fc.constantFrom(
        'name', 'description', 'pattern_type', 'qe_domain', 'domain', 'tier', 'template', 'context', 'type', 'action_type',
        'action_value', 'metadata', 'pattern', 'key', 'partition', 'value', 'namespace', 'task_type', 'state', 'action',
        'reward', 'success', 'category', 'agent_type', 'preconditions', 'effects', 'content',
      ),
      fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 50 }), jsonValue, fc.double(), fc.boolean()),
    );
    fc.assert(
      fc.property(fc.constantFrom(...embeddedTables), values, (table, v) => {
        const text = searchTextFor(table, v);
        expect(searchTextFor(table, structuredClone(v))).toBe(text);
        expect(searchTextFor(table, reverseKeys(v) as Record<string, unknown>)).toBe(text);
        if (text !== null) {
          expect(text.length).toBeLessThanOrEqual(MAX_SEARCH_TEXT);
          expect(text).toBe(text.trim());
          expect(text).not.toMatch(/\s{2}|[\n\t\r]/);
          expect(text).toMatch(/[\p{L}\p{N}]/u);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('normalises text exactly as the regular expressions do (the ASCII fast paths change nothing)', () => {
    // the rules before the fast paths: control/format characters → space, whitespace runs → one
    // space, trimmed; a part loses its trailing run of whitespace and . ; : ,
    const normalise = (t: string) => t.replace(/[\p{Cc}\p{Cf}]+/gu, ' ').replace(/\s+/gu, ' ').trim();
    const expected = (t: string): string | null => {
      const part = normalise(t);
      if (part === '') return null;
      const clean = normalise(normalise(part).replace(/[\s.;:,]+$/u, ''));
      return /[\p{L}\p{N}]/u.test(clean) ? clean : null;
    };
    const unit = fc.constantFrom(' ', '  ', 'a', 'Z', '7', '.', ';', ':', ',', '-', '\t', '\n', '\r', '\u000b', '\u00a0', '\u200b', '\u00ad', '\ufeff', '\u3000', '\u2028', '\u0085', '\u007f', '\u0000', '\ud800', 'é', '漢');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 24 }), (text) => {
        expect(searchTextFor('source_vectors', { text })).toBe(expected(text));
      }),
      { numRuns: 5_000 },
    );
  });
});
