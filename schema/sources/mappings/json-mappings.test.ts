import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TargetRow } from '../../tables/target-tables.js';
import { parseJsonDocument } from './json-document.js';
import { mapJsonDocument } from './json-mappings.js';
import { mapContext } from './map-context.js';
import type { SourceFormat } from '../catalogue.js';

function read(format: SourceFormat, doc: unknown, name = 'x'): Map<string, TargetRow[]> {
  const out = new Map<string, TargetRow[]>();
  for (const c of mapJsonDocument(format, doc, mapContext('f.json'), name)) out.set(`${c.target}/${c.sourceTable}`, [...c.rows()]);
  return out;
}

describe('claude-flow store', () => {
  it('reads claude-flow 3.x entries: createdAt as stored_at, JSON-in-string values decoded, other strings kept', () => {
    const rows = read('claude-flow-store', {
      version: '3.0.0',
      entries: {
        'agent/coder/decision': {
          key: 'agent/coder/decision',
          value: JSON.stringify({ agent: 'coder', decision: 'use JWT with refresh rotation' }),
          namespace: 'decisions',
          createdAt: '2026-03-01T10:00:00.000Z',
          accessCount: 0,
          lastAccessed: '2026-03-02T10:00:00.000Z',
        },
        'note/plain': { key: 'note/plain', value: 'retry flaky tests with jitter', createdAt: '2026-03-01T11:00:00.000Z' },
        'note/not-json': { key: 'note/not-json', value: '{not json', createdAt: '2026-03-01T11:00:00.000Z' },
        'note/number': { key: 'note/number', value: '42', createdAt: '2026-03-01T11:00:00.000Z' },
      },
    });
    const [decision, plain, broken, number] = rows.get('claude_flow_memory/entries') ?? [];
    expect(decision?.values).toMatchObject({ value: { agent: 'coder', decision: 'use JWT with refresh rotation' }, namespace: 'decisions' });
    expect((decision?.values['stored_at'] as Date).toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(decision?.sourceUpdatedAt?.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(plain?.values['value']).toBe('retry flaky tests with jitter');
    expect(plain?.extra).toBeNull();
    expect(broken?.values['value']).toBe('{not json');
    expect(number?.values['value']).toBe('42');
  });

  it('reads the members of entries (v3), not the top-level keys', () => {
    const rows = read('claude-flow-store', {
      version: '3.0.0',
      entries: {
        'k-1': { key: 'k-1', value: { a: 1 }, namespace: 'patterns', storedAt: '2025-01-06T00:00:00.000Z', accessCount: 3, lastAccessed: '2025-01-07T00:00:00.000Z' },
        'k-2': { key: 'k-2', value: '{"still":"a string"}', storedAt: '2025-01-06T00:00:00.000Z' },
      },
    });
    const entries = rows.get('claude_flow_memory/entries') ?? [];
    expect(entries.map((r) => r.sourceKey)).toEqual(['k-1', 'k-2']);
    expect(entries[0]?.values).toMatchObject({ key: 'k-1', namespace: 'patterns', value: { a: 1 }, access_count: 3 });
    // a JSON document inside a string is decoded (value->>'still' works), the member named in extra
    expect(entries[1]?.values['value']).toEqual({ still: 'a string' });
    expect(entries[1]?.extra).toMatchObject({ $decoded: ['value'] });
    expect(entries[0]?.sourceUpdatedAt?.toISOString()).toBe('2025-01-06T00:00:00.000Z');
    expect(rows.get('source_rows/version')?.length).toBe(1);
  });

  it('reads the older v2 layout, decoding JSON-encoded values and keeping duplicate keys', () => {
    const rows = read('claude-flow-store', {
      default: [
        { key: 'a', value: '{"n":1}', namespace: 'default', timestamp: 1736121600000 },
        { key: 'a', value: 'plain', namespace: 'default', timestamp: 1736121601000 },
      ],
      sessions: [{ key: 's', value: '[1]', namespace: 'sessions', timestamp: 1736121600000 }],
    });
    const d = rows.get('claude_flow_memory/default') ?? [];
    expect(d.map((r) => r.sourceKey)).toEqual(['["default","a"]', '["default","a"]#2']);
    expect(d.map((r) => r.values['value'])).toEqual([{ n: 1 }, 'plain']);
    expect(d[0]?.values['stored_at']).toEqual(new Date(1736121600000));
    expect(rows.get('claude_flow_memory/sessions')?.length).toBe(1);
  });
});

describe('ruvector intelligence', () => {
  const mem = (id: string, content: string, embedding: number[] | null = [0.1, 0.2]) => ({ id, memory_type: 'edit', content, embedding, metadata: {}, timestamp: 1736121600 });

  it('keeps every memory when ids collide, with keys stable across re-reads', () => {
    const doc = { memories: [mem('mem_1', 'a'), mem('mem_1', 'b'), mem('mem_1', 'a'), mem('mem_2', 'c', null)], patterns: {}, stats: { n: 1 } };
    const first = read('ruvector-intelligence', doc).get('intelligence_memories/memories') ?? [];
    const again = read('ruvector-intelligence', structuredClone(doc)).get('intelligence_memories/memories') ?? [];
    expect(first).toHaveLength(4);
    expect(new Set(first.map((r) => r.sourceKey)).size).toBe(4);
    expect(again.map((r) => r.sourceKey)).toEqual(first.map((r) => r.sourceKey));
    expect(first[0]?.values).toMatchObject({ hash_embedding: [0.1, 0.2], hash_embedding_dim: 2, occurred_at: new Date(1736121600000) });
    expect(first[0]?.values['embedding']).toBeUndefined();
    expect(first[3]?.values['hash_embedding']).toBeUndefined();
  });

  it('keeps the 64-d float64 hash vectors exactly (no float32 rounding)', () => {
    const vector = Array.from({ length: 64 }, (_, i) => Math.sin(i + 1) / 7.3);
    const [row] = read('ruvector-intelligence', { memories: [mem('mem_9', 'edit src/a.ts', vector)] }).get('intelligence_memories/memories') ?? [];
    expect(row?.values['hash_embedding']).toEqual(vector);
    expect((row?.values['hash_embedding'] as number[]).some((x) => Math.fround(x) !== x)).toBe(true);
  });

  it('models both trajectory shapes: Q-learning steps (seconds) and trajectory-begin/step/end (milliseconds)', () => {
    // shapes as ruvector 0.3.x bin/cli.js writes them (hooks trajectory-begin/step/end; the Q-learning record)
    const explicit = {
      id: 'traj_1767261600000_k3j9x2m1a',
      context: 'fix the flaky login test',
      agent: 'tester',
      file: 'src/login.test.ts',
      steps: [
        { action: 'read the test', result: 'uses a real clock', reward: 0.5, time: 1767261601000 },
        { action: 'fake the timers', result: 'passes 50 runs', reward: 0.9, time: 1767261660000 },
      ],
      startTime: 1767261600000,
      endTime: 1767261700000,
      quality: 0.8,
      success: true,
    };
    const qlearning = { id: 'traj_1736121600', state: 'edit:ts', action: 'coder', outcome: 'completed', reward: 1, timestamp: 1736121600 };
    const rows = read('ruvector-intelligence', { trajectories: [qlearning, explicit] }).get('trajectories/trajectories') ?? [];
    expect(rows).toHaveLength(2);
    expect(rows[0]?.values).toMatchObject({ state: 'edit:ts', action: 'coder', outcome: 'completed', reward: 1, started_at: new Date(1736121600000) });
    expect(rows[1]?.values).toMatchObject({
      task: 'fix the flaky login test',
      agent: 'tester',
      reward: 0.8,
      success: true,
      started_at: new Date(1767261600000),
      ended_at: new Date(1767261700000),
      steps: explicit.steps,
    });
    expect(rows[1]?.extra).toEqual({ id: explicit.id, file: 'src/login.test.ts' });
    expect(rows[1]?.sourceUpdatedAt?.getTime()).toBe(1767261700000);
  });

  it('maps Q-value patterns and sends other members to source_rows, one row per member or element', () => {
    const rows = read('ruvector-intelligence', {
      patterns: { 'edit:ts|coder': { state: 'edit:ts', action: 'coder', q_value: 0.5, visits: 2, last_update: 1736121600 }, 'a|b': 0.1 },
      errors: { E1: { n: 1 }, E2: { n: 2 } },
      file_sequences: [{ from: 'a', to: 'b' }, { from: 'a', to: 'b' }],
      learning: { alpha: 0.1 },
    });
    expect(rows.get('qlearning_patterns/patterns')?.map((r) => [r.sourceKey, r.values['state'], r.values['action']])).toEqual([
      ['edit:ts|coder', 'edit:ts', 'coder'],
      ['a|b', 'a', 'b'],
    ]);
    expect(rows.get('source_rows/errors')?.map((r) => r.sourceKey)).toEqual(['errors:E1', 'errors:E2']);
    expect(rows.get('source_rows/file_sequences')).toHaveLength(2);
    expect(rows.get('source_rows/learning')).toHaveLength(1);
  });

  it('keeps every element of any memories array (property)', () => {
    const memory = fc.record({ id: fc.constantFrom('mem_1', 'mem_2', 'mem_3'), content: fc.constantFrom('a', 'b'), timestamp: fc.integer({ min: 0, max: 2e9 }) });
    fc.assert(
      fc.property(fc.array(memory, { maxLength: 40 }), (memories) => {
        const rows = read('ruvector-intelligence', { memories }).get('intelligence_memories/memories') ?? [];
        return rows.length === memories.length && new Set(rows.map((r) => r.sourceKey)).size === rows.length;
      }),
    );
  });
});

describe('daemon state and metrics', () => {
  it('maps workers and keeps the rest of the daemon state', () => {
    const rows = read('claude-flow-daemon', { running: true, workers: { map: { runCount: 3, isRunning: false, lastRun: '2025-01-06T00:00:00.000Z' } }, config: { a: 1 } });
    expect(rows.get('claude_flow_workers/workers')?.[0]?.values).toMatchObject({ worker_type: 'map', run_count: 3, is_running: false });
    expect(rows.get('source_rows/running')).toHaveLength(1);
    expect(rows.get('source_rows/config')).toHaveLength(1);
  });

  it('makes one metrics row per array element or one per object file', () => {
    const arr = read('claude-flow-metrics', [{ timestamp: 1736121600000, cpu: 1 }, { timestamp: 1736121660000, cpu: 2 }], 'system-metrics');
    const samples = arr.get('metrics/system-metrics') ?? [];
    expect(samples.map((r) => [r.sourceKey, r.values['metric_file'], r.values['sampled_at']])).toEqual([
      ['system-metrics:t=1736121600000', 'system-metrics', new Date(1736121600000)],
      ['system-metrics:t=1736121660000', 'system-metrics', new Date(1736121660000)],
    ]);
    expect(read('claude-flow-metrics', { totalTasks: 3 }, 'performance').get('metrics/performance')?.[0]?.sourceKey).toBe('performance');
  });
});

describe('parseJsonDocument (hostile input)', () => {
  const ctx = mapContext('v3/.ruvector/intelligence.json');
  const bytes = (s: string) => Buffer.from(s, 'utf8');
  it('refuses invalid UTF-8', () => {
    expect(() => parseJsonDocument(Buffer.concat([bytes('{"a":"'), Buffer.from([0xc3, 0x28]), bytes('"}')]), ctx)).toThrow(/intelligence\.json: expected UTF-8 JSON.*at byte 6/);
  });
  it('refuses numbers beyond double range instead of turning them into Infinity', () => {
    expect(() => parseJsonDocument(bytes('{"memories":[{"id":"m","reward":1e400}]}'), ctx)).toThrow(/table "memories", row "0", field "\$\.reward": expected a number within the double range .* at \$\.memories\[0\]\.reward/);
  });
  it('refuses nesting deeper than the limit before parsing', () => {
    expect(() => parseJsonDocument(bytes(`${'['.repeat(300)}${']'.repeat(300)}`), ctx)).toThrow(/nested at most 256 levels deep, got 300/);
  });
  it('refuses NUL in member names', () => {
    expect(() => parseJsonDocument(bytes('{"entries":{"a\\u0000b":{}}}'), ctx)).toThrow(/table "entries", row "a\\\\u0000b".*without NUL/);
  });
  it('refuses a single string larger than the value limit', () => {
    expect(() => parseJsonDocument(bytes(JSON.stringify({ entries: { big: { value: 'x'.repeat(3000) } } })), mapContext('s.json', { maxValueBytes: 1000 }))).toThrow(/row "big", field "\$\.value": expected a value of at most 1000 bytes/);
  });
  it('keeps SQL-looking text as data', () => {
    expect(parseJsonDocument(bytes('{"k":"\'; DROP TABLE aqe.patterns; --"}'), ctx)).toEqual({ k: "'; DROP TABLE aqe.patterns; --" });
  });
});
