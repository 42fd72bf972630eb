// Every real format of issue 15, read by the loader's readers from files the real tools wrote (or
// their published DDL and statements): claude-flow 3.x memory entries (milliseconds, the memory
// searchable, the JSON-text embedding into source_vectors with its label), ReasoningBank tables,
// agentic-qe 3.x captured_experiences (mixed ISO / SQLite-text times, a Float32 vector) and a
// catch-all table made searchable by the generic recipe.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshotSource } from '../../../functions/loader/read/read-snapshot-source.js';
import { collectRows } from '../../../functions/loader/read/source-read-result.js';
import { searchTextFor } from '../../../schema/sources/recipes.js';
import type { TargetRow } from '../../../schema/tables/target-tables.js';
import { type AqeV3Fixture, type SwarmFixture, writeAgenticQeV3Db, writeClaudeFlowStore, writeClaudeFlowSwarmDb } from '../../support/real-formats.js';

const text = (row: TargetRow | undefined) => (row ? searchTextFor(row.table, row.values, row) : null);

describe('real formats', () => {
  let dir: string;
  let swarm: SwarmFixture;
  let aqe: AqeV3Fixture;
  let swarmRows: Map<string, TargetRow[]>;
  let aqeRows: Map<string, TargetRow[]>;
  let warnings: string[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aqe-real-formats-'));
    swarm = writeClaudeFlowSwarmDb(join(dir, 'swarm.db'));
    aqe = await writeAgenticQeV3Db(join(dir, 'v3.db'));
    const s = readSnapshotSource({ sourceId: 'swarm-memory', path: '.swarm/memory.db', format: 'sqlite' }, swarm.path);
    const a = readSnapshotSource({ sourceId: 'v3-memory', path: 'v3/.agentic-qe/memory.db', format: 'sqlite' }, aqe.path);
    try {
      swarmRows = await collectRows(s);
      aqeRows = await collectRows(a);
      warnings = [...s.warnings, ...a.warnings].map((w) => w.message);
    } finally {
      s.close();
      a.close();
    }
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads claude-flow 3.x memory entries: milliseconds, the memory in value and searchable', () => {
    const rows = (swarmRows.get('memory_entries') ?? []).filter((r) => r.sourceTable === 'memory_entries');
    expect(rows.map((r) => r.sourceKey).sort()).toEqual(swarm.entries.map((e) => e.id).sort());
    const auth = rows.find((r) => r.values['key'] === 'api/auth')!;
    expect((auth.values['created_at'] as Date).getTime()).toBe(swarm.entries[0]!.createdAt);
    expect(auth.sourceUpdatedAt?.getTime()).toBe(swarm.entries[0]!.createdAt);
    expect(auth.values['value']).toEqual({ agent: 'coder', decision: 'use JWT with refresh token rotation' });
    expect(auth.values['partition']).toBe('default');
    // the vector is in source_vectors, not repeated in extra
    expect(auth.extra).not.toHaveProperty('embedding');
    expect(text(auth)).toContain('use JWT with refresh token rotation');
    const retry = rows.find((r) => r.values['key'] === 'notes/retry')!;
    expect(retry.values['value']).toBe('Retry flaky network tests with jitter and a bounded budget');
    expect(text(retry)).toContain('Retry flaky network tests');
    expect(warnings.filter((w) => /timestamp/.test(w))).toEqual([]);
  });

  it('puts the JSON-text embedding of each memory into source_vectors with its model label and dimension', () => {
    const vectors = (swarmRows.get('source_vectors') ?? []).filter((r) => r.sourceTable === 'memory_entries');
    expect(vectors.map((r) => r.sourceKey).sort()).toEqual(swarm.entries.map((e) => `memory_entries:${e.id}`).sort());
    const v = vectors.find((r) => r.values['owner_key'] === swarm.entries[0]!.id)!;
    expect(v.values).toMatchObject({ model: 'Xenova/all-MiniLM-L6-v2', dimension: 384, namespace: 'default' });
    expect(v.values['vector']).toEqual(swarm.entries[0]!.embedding);
  });

  it('models the ReasoningBank tables as searchable patterns / experiences, their Float32 vectors decoded', () => {
    const pattern = (swarmRows.get('patterns') ?? []).find((r) => r.sourceTable === 'reasoning_patterns')!;
    expect(pattern.values).toMatchObject({ pattern: swarm.reasoning.approach, domain: 'ci-stabilisation', success_rate: 0.83, usage_count: 6 });
    expect((pattern.values['created_at'] as Date).getTime()).toBe(swarm.reasoning.ts * 1000);
    expect(text(pattern)).toContain('rerun only the failed shard');
    const vec = (swarmRows.get('source_vectors') ?? []).find((r) => r.sourceTable === 'pattern_embeddings')!;
    expect(vec.values['owner_key']).toBe(String(swarm.reasoning.id));
    expect(vec.values['dimension']).toBe(384);
    expect(vec.values['vector']).toEqual(Array.from(swarm.reasoning.embedding));
    const episode = (swarmRows.get('learning_experiences') ?? []).find((r) => r.sourceTable === 'episodes')!;
    expect(episode.values).toMatchObject({ task: swarm.episode.task, outcome: swarm.episode.critique, success: true });
    expect(text(episode)).toContain(swarm.episode.task);
    const epVec = (swarmRows.get('source_vectors') ?? []).find((r) => r.sourceTable === 'episode_embeddings')!;
    expect(epVec.values).toMatchObject({ owner_key: String(swarm.episode.id), model: 'all-MiniLM-L6-v2', dimension: 384 });
    expect(epVec.values['vector']).toEqual(Array.from(swarm.episode.embedding));
    // claude-flow's own patterns table: name, condition → action searchable
    const cf = (swarmRows.get('patterns') ?? []).find((r) => r.sourceTable === 'patterns')!;
    expect((cf.values['created_at'] as Date).getTime()).toBe(swarm.pattern.createdAt);
    expect(text(cf)).toContain(`when: ${swarm.pattern.condition}`);
    const traj = (swarmRows.get('trajectories') ?? []).find((r) => r.sourceTable === 'trajectories')!;
    expect(traj.values).toMatchObject({ task: 'migrate the auth module to JWT', outcome: 'success' });
  });

  it('reads agentic-qe 3.x captured_experiences into learning_experiences: mixed ISO and SQLite-text times, searchable, vector apart', () => {
    const rows = (aqeRows.get('learning_experiences') ?? []).filter((r) => r.sourceTable === 'captured_experiences');
    expect(rows.map((r) => r.sourceKey).sort()).toEqual(aqe.capturedExperiences.map((e) => `captured_experiences:${e.id}`).sort());
    const first = rows.find((r) => r.sourceKey.endsWith(aqe.capturedExperiences[0]!.id))!;
    expect(first.values).toMatchObject({ task: aqe.capturedExperiences[0]!.task, agent_id: 'qe-test-architect', domain: 'test-generation', success: true, quality: 0.92 });
    expect((first.values['started_at'] as Date).toISOString()).toBe(aqe.capturedExperiences[0]!.startedAt);
    // completed_at is datetime('now') text: read, never "unreadable"
    expect(first.values['ended_at']).toBeInstanceOf(Date);
    expect(text(first)).toContain('Generate unit tests for the checkout discount rules');
    const failed = rows.find((r) => r.sourceKey.endsWith(aqe.capturedExperiences[1]!.id))!;
    expect(failed.values['outcome']).toBe('timeout waiting for the webhook signature');
    expect(text(failed)).toMatch(/flaky.*failed$/);
    const vectors = (aqeRows.get('source_vectors') ?? []).filter((r) => r.sourceTable === 'captured_experiences');
    expect(vectors).toHaveLength(1);
    expect(vectors[0]!.values).toMatchObject({ owner_key: aqe.capturedExperiences[0]!.id, dimension: 384 });
    expect(warnings.filter((w) => /timestamp/.test(w))).toEqual([]);
  });

  it('makes a catch-all table searchable with the generic recipe (dream insights)', () => {
    const insight = (aqeRows.get('source_rows') ?? []).find((r) => r.sourceTable === 'dream_insights')!;
    expect(text(insight)).toContain(aqe.dreamInsight.description);
    expect(text(insight)?.startsWith('dream insights')).toBe(true);
    // rows with nothing but ids and numbers get no text
    const empty = (aqeRows.get('source_rows') ?? []).filter((r) => r.sourceTable === 'schema_version');
    for (const r of empty) expect(text(r)).toBeNull();
  });

  it('reads claude-flow 3.x store.json: createdAt, decoded JSON-in-string values', async () => {
    const file = join(dir, 'store.json');
    writeClaudeFlowStore(file);
    const r = readSnapshotSource({ sourceId: 'claude-flow-store', path: '.claude-flow/memory/store.json', format: 'claude-flow-store' }, file);
    const rows = (await collectRows(r)).get('claude_flow_memory') ?? [];
    r.close();
    const decision = rows.find((x) => x.sourceKey === 'swarm/coder/decision')!;
    expect(decision.values['value']).toEqual({ agent: 'coder', decision: 'cache the schema between runs' });
    expect((decision.values['stored_at'] as Date).toISOString()).toBe('2026-02-12T08:00:00.000Z');
    expect(rows.find((x) => x.sourceKey === 'notes/plain')!.values['value']).toBe('plain words stay words');
  });
});
