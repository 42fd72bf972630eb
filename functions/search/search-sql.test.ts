import { describe, expect, it } from 'vitest';
import { dialectSql } from '../db/dialect.js';
import { checkTables, fullTextStatement, knnStatement, SEARCHABLE_TABLES } from './search-sql.js';

describe('knnStatement', () => {
  const base = { vectorLiteral: '[0.1,0.2]', limit: 5, threshold: 0, forceFiltered: false };

  it('puts every table in one UNION ALL statement, values only as parameters', () => {
    const st = knnStatement(dialectSql('pgvector'), { ...base, tables: ['patterns', 'qe_patterns'], filters: { env: "x' OR 1=1 --" } });
    expect(st.searched).toEqual(['patterns', 'qe_patterns']);
    expect(st.text.split('UNION ALL')).toHaveLength(2);
    expect(st.text).not.toContain("x'");
    expect(st.params[0]).toBe('[0.1,0.2]');
    expect(st.params).toContain("x' OR 1=1 --");
    // pgvector with a narrowing filter: iterative scan, still an index (approximate) plan
    expect(st.settings).toContain('SET LOCAL hnsw.iterative_scan = relaxed_order');
    expect(st.approximate).toEqual(['patterns', 'qe_patterns']);
  });

  it('plans an exact scan for dialect none and skips tables without a domain when one is asked for', () => {
    const st = knnStatement(dialectSql('none'), { ...base, tables: [...SEARCHABLE_TABLES], filters: { domain: 'd' } });
    expect(st.approximate).toEqual([]);
    expect(st.settings).toEqual([]);
    expect(st.text).toContain('aqe.real_cosine_distance(');
    expect(st.searched.length).toBeGreaterThan(0);
    expect(st.searched.every((t) => SEARCHABLE_TABLES.includes(t))).toBe(true);
  });

  it('adds the distance bound as a parameter only with a threshold', () => {
    const without = knnStatement(dialectSql('ruvector'), { ...base, tables: ['patterns'], filters: {} });
    const withBound = knnStatement(dialectSql('ruvector'), { ...base, threshold: 0.75, tables: ['patterns'], filters: {} });
    expect(without.params).toEqual(['[0.1,0.2]', 5]);
    expect(withBound.params).toEqual(['[0.1,0.2]', 0.25, 5]);
    // ruvector with a filter (the threshold) cannot trust its 100-candidate index scan
    expect(withBound.approximate).toEqual([]);
  });
});

describe('fullTextStatement', () => {
  it('finds rows with or without a vector and passes the query text as $1', () => {
    const st = fullTextStatement('patterns', 'retry flaky', { model: 'm', env: 'laptop' }, 20);
    expect(st.text).not.toContain('embedding IS NOT NULL');
    expect(st.text).not.toContain('embedding_model');
    expect(st.params).toEqual(['retry flaky', 'laptop', 20]);
  });
});

describe('checkTables', () => {
  it('names the wrong table and the right ones', () => {
    expect(() => checkTables(['nope'])).toThrow(/--table nope: not a searchable table; expected one of .*patterns/);
    expect(checkTables(undefined)).toEqual([...SEARCHABLE_TABLES]);
  });
});
