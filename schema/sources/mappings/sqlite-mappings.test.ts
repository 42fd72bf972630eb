import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../errors.js';
import { mapContext } from './map-context.js';
import type { SqliteColumn } from './sqlite-mappings.js';
import { planSqliteTable, SqliteRowMapper } from './sqlite-mappings.js';

const cols = (spec: string): SqliteColumn[] =>
  spec.split(/\s*,\s*/).map((c) => {
    const [name = '', pk] = c.split(':');
    return { name, type: '', pk: pk ? Number(pk) : 0 };
  });
const f32 = (v: number[]) => {
  const b = Buffer.alloc(v.length * 4);
  for (const [i, x] of v.entries()) b.writeFloatLE(x, i * 4);
  return b;
};

describe('planSqliteTable', () => {
  it('chooses the memory_entries variant from the discovered columns', () => {
    const aqe = planSqliteTable('memory_entries', cols('key:1, partition:2, value, metadata, created_at, expires_at, owner, access_level, team_id, swarm_id'));
    expect(aqe).toMatchObject({ target: 'memory_entries', mapping: 'memory_entries/agentic-qe', keyColumns: ['key', 'partition'], extraColumns: ['team_id', 'swarm_id'] });
    const cf = planSqliteTable('memory_entries', cols('id:1, key, value, namespace, metadata, created_at, updated_at, accessed_at, access_count, ttl, expires_at'));
    expect(cf).toMatchObject({ mapping: 'memory_entries/claude-flow', keyColumns: ['id'] });
    expect(cf.fields.find((x) => x.to === 'partition')?.from).toBe('namespace');
    expect(cf.fields.find((x) => x.to === 'created_at')?.ts).toContain('unix-s');
  });

  it('maps both goap variants and both plan sequence columns', () => {
    const v1 = planSqliteTable('goap_actions', cols('id:1, description, agent_type, preconditions, effects, cost, duration_estimate, created_at'));
    expect(v1.fields.map((x) => x.to)).toContain('estimated_duration_ms');
    expect(planSqliteTable('goap_plans', cols('id:1, goal_id, sequence')).fields.find((x) => x.to === 'action_sequence')?.from).toBe('sequence');
    expect(planSqliteTable('goap_plans', cols('id:1, goal_id, action_sequence')).fields.find((x) => x.to === 'action_sequence')?.from).toBe('action_sequence');
  });

  it('maps patterns with and without the embedding TEXT column and the ReasoningBank variant', () => {
    expect(planSqliteTable('patterns', cols('id:1, pattern, confidence, embedding')).fields.map((x) => x.to)).toContain('source_embedding');
    expect(planSqliteTable('patterns', cols('id:1, pattern, confidence')).fields.map((x) => x.to)).not.toContain('source_embedding');
    expect(planSqliteTable('patterns', cols('id:1, type, pattern_data, confidence')).mapping).toBe('patterns/reasoningbank');
  });

  it('maps q_values without an algorithm column', () => {
    const p = planSqliteTable('q_values', cols('id:1, agent_id, state_key, action_key, q_value, update_count, last_updated'));
    expect(p.target).toBe('q_values');
    expect(p.fields.map((x) => x.to)).not.toContain('algorithm');
  });

  it('sends unknown tables and mapped names with foreign columns to source_rows', () => {
    expect(planSqliteTable('dream_insights', cols('id:1, x')).target).toBe('source_rows');
    expect(planSqliteTable('memory_entries', cols('k:1, v')).target).toBe('source_rows');
  });
});

describe('SqliteRowMapper', () => {
  it('keeps every row and key, and every non-null column in values or extra', () => {
    // id TEXT (the tools' schema): string keys are kept as given (an untyped column quotes numeric text)
    const plan = planSqliteTable('events', cols('id:1, type, payload, timestamp, source, ttl, expires_at, extra_col').map((c) => (c.name === 'id' ? { ...c, type: 'TEXT' } : c)));
    const row = fc.record({
      id: fc.string(),
      type: fc.option(fc.string()),
      payload: fc.option(fc.string()),
      timestamp: fc.option(fc.integer({ min: 0, max: 4e12 })),
      source: fc.option(fc.string()),
      ttl: fc.option(fc.integer()),
      expires_at: fc.option(fc.oneof(fc.integer(), fc.string())),
      extra_col: fc.option(fc.oneof(fc.string(), fc.uint8Array({ maxLength: 8 }))),
    });
    fc.assert(
      fc.property(fc.uniqueArray(row, { selector: (r) => r.id.replaceAll('\u0000', ''), maxLength: 30 }), (rows) => {
        const clean = rows.map((r) => ({ ...r, id: r.id.replaceAll('\u0000', '') }));
        const mapper = new SqliteRowMapper(plan, mapContext('t.db'));
        const out = clean.map((r) => mapper.map(r));
        expect(out.map((o) => o.sourceKey)).toEqual(clean.map((r) => r.id));
        for (const [i, o] of out.entries()) {
          const src = clean[i] as Record<string, unknown>;
          for (const c of plan.columns) {
            if (src[c] === null) continue;
            const field = plan.fields.find((x) => x.from === c);
            const kept = field ? o.values[field.to] !== undefined || (o.extra?.['$raw'] as Record<string, unknown> | undefined)?.[c] !== undefined : o.extra?.[c] !== undefined;
            expect(kept, `${c} of ${JSON.stringify(src)}`).toBe(true);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('derives keys for keyless tables, numbering identical rows in order', () => {
    const plan = planSqliteTable('hints', cols('a, b'));
    const mapper = new SqliteRowMapper(plan, mapContext('t.db'));
    const keys = [{ a: 1, b: 'x' }, { a: 1, b: 'x' }, { a: 2, b: 'y' }].map((r) => mapper.map(r).sourceKey);
    expect(keys[0]).toMatch(/^hints:h:[0-9a-f]{32}$/);
    expect(keys[1]).toBe(`${keys[0]}#2`);
    expect(new Set(keys).size).toBe(3);
  });

  it('refuses a NUL character in a key, naming file, table, row and field', () => {
    const mapper = new SqliteRowMapper(planSqliteTable('kv_store', cols('namespace:1, key:2, value, created_at')), mapContext('v3/.agentic-qe/memory.db'));
    try {
      mapper.map({ namespace: 'ns', key: 'a\u0000b', value: '1', created_at: 1 });
      expect.unreachable();
    } catch (err) {
      expect(isAppError(err, 'VALUE_INVALID')).toBe(true);
      expect((err as Error).message).toMatch(/v3\/\.agentic-qe\/memory\.db: table "kv_store", row "a\\\\0b", field "key": expected a key without NUL/);
    }
  });

  it('checks vector BLOBs against the dimension column', () => {
    const plan = planSqliteTable('qe_pattern_embeddings', cols('pattern_id:1, embedding, dimension, model, created_at'));
    const mapper = new SqliteRowMapper(plan, mapContext('m.db'));
    const ok = mapper.map({ pattern_id: 'p', embedding: f32([1, 2, 3]), dimension: 3, model: 'all-MiniLM-L6-v2', created_at: '2025-01-06 00:00:00' });
    expect(ok.values).toMatchObject({ owner_key: 'p', vector: [1, 2, 3], dimension: 3, model: 'all-MiniLM-L6-v2' });
    expect(ok.sourceKey).toBe('qe_pattern_embeddings:p');
    expect(() => mapper.map({ pattern_id: 'q', embedding: f32([1, 2, 3]), dimension: 384 })).toThrow(/table "qe_pattern_embeddings", row "qe_pattern_embeddings:q", field "embedding".*dimension 384/);
  });

  it('keeps implausible timestamps and type mismatches raw in extra.$raw, with warnings', () => {
    const ctx = mapContext('m.db');
    const mapper = new SqliteRowMapper(planSqliteTable('qe_patterns', cols('id:1, name, confidence, last_used_at')), ctx);
    const r = mapper.map({ id: 'p1', name: 'n', confidence: 'high', last_used_at: '+051234-01-01T00:00:00.000Z' });
    expect(r.values['last_used_at']).toBeUndefined();
    expect(r.extra).toEqual({ id: 'p1', $raw: { confidence: 'high', last_used_at: '+051234-01-01T00:00:00.000Z' } });
    expect(ctx.warnings.list().map((w) => w.kind).sort()).toEqual(['implausible-timestamp', 'type-mismatch']);
  });

  it('refuses a value above the size limit, naming the row', () => {
    const mapper = new SqliteRowMapper(planSqliteTable('kv_store', cols('namespace:1, key:2, value')), mapContext('m.db', { maxValueBytes: 1024 }));
    expect(() => mapper.map({ namespace: 'n', key: 'big', value: 'x'.repeat(2000) })).toThrow(/row "\[\\"n\\",\\"big\\"\]", field "value": expected a value of at most 1024 bytes, got 2000 bytes/);
  });
});
