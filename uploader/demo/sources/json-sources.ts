// Sample workspace, the JSON sources: store.json, daemon-state.json, metrics, v3/.ruvector/intelligence.json.
// Deterministic for the generator it is given (see fixture-kit.ts).
import { BASE_S, SPAN_S, sourcePath, Rng, enc, AGENTS, WORDS, FILES, sentence, type Volume, type Sizes } from './fixture-kit.js';

export interface JsonFile {
  path: string;
  source: string;
  text: string;
  counts: Record<string, number>;
}

export function buildJsonSources(rng: Rng, n: Sizes, volume: Volume): JsonFile[] {
  const out: JsonFile[] = [];

  // .claude-flow/memory/store.json: the records are the members of `entries`.
  const entries: Record<string, unknown> = {};
  const values: Array<() => unknown> = [
    () => sentence(rng, 5),
    () => rng.int(0, 1e6),
    () => ({ decision: sentence(rng, 3), files: [rng.pick(FILES)], confidence: rng.round(rng.next()) }),
    () => [rng.pick(WORDS), rng.pick(WORDS)],
    () => rng.chance(0.5),
    () => null,
    () => JSON.stringify({ encoded: true, n: rng.int(0, 9) }),
  ];
  for (let i = 0; i < n.storeEntries; i++) {
    const s = rng.seconds();
    const key = `${rng.pick(['session', 'pattern', 'decision', 'task'])}-${i}-${rng.hex(4)}`;
    const entry: Record<string, unknown> = { key, value: (values[i % values.length] ?? values[0] ?? (() => null))() };
    if (rng.chance(0.6)) entry['metadata'] = { tags: [rng.pick(WORDS)], source: 'cli' };
    if (rng.chance(0.7)) entry['namespace'] = rng.pick(['default', 'patterns', 'sessions']);
    entry['storedAt'] = enc.iso(s, rng);
    entry['accessCount'] = rng.int(0, 20);
    entry['lastAccessed'] = enc.iso(s + rng.int(0, 86_400), rng);
    entries[key] = entry;
  }
  out.push({
    path: sourcePath('claude-flow-store'),
    source: 'claude-flow-store',
    text: JSON.stringify({ version: '3.0.0', entries }, null, 2),
    counts: { entries: n.storeEntries },
  });

  // .claude-flow/daemon-state.json
  const workerTypes = ['map', 'audit', 'optimize', 'consolidate', 'testgaps', 'predict', 'document', 'ultralearn', 'deepdive', 'refactor', 'benchmark', 'preload'];
  const workers: Record<string, unknown> = {};
  for (const type of workerTypes.slice(0, n.workers)) {
    const runs = rng.int(0, 300);
    const failures = rng.int(0, Math.floor(runs / 10));
    const last = rng.seconds();
    workers[type] = {
      runCount: runs,
      successCount: runs - failures,
      failureCount: failures,
      averageDurationMs: rng.round(rng.next() * 5000, 2),
      isRunning: rng.chance(0.2),
      lastRun: runs > 0 ? enc.iso(last, rng) : undefined,
      nextRun: enc.iso(last + 900, rng),
    };
  }
  out.push({
    path: sourcePath('claude-flow-daemon'),
    source: 'claude-flow-daemon',
    text: JSON.stringify(
      {
        running: true,
        startedAt: enc.iso(BASE_S, rng),
        workers,
        config: { autoStart: true, logDir: '.claude-flow/logs', maxConcurrent: 2, workerTimeoutMs: 300_000, resourceThresholds: { maxCpuLoad: 2, minFreeMemoryPercent: 20 } },
        savedAt: enc.iso(BASE_S + SPAN_S, rng),
      },
      null,
      2,
    ),
    counts: { workers: Object.keys(workers).length },
  });

  // .claude-flow/metrics/*.json: objects and arrays of samples.
  const metricsDir = sourcePath('claude-flow-metrics');
  const samples = Array.from({ length: n.samples }, (_, i) => ({
    timestamp: enc.ms(BASE_S + i * 60, rng),
    memoryTotal: 8_589_934_592,
    memoryUsed: rng.int(2e9, 7e9),
    memoryFree: rng.int(1e9, 6e9),
    memoryUsagePercent: rng.round(rng.next() * 100, 2),
    cpuCount: 2,
    cpuLoad: rng.round(rng.next() * 2, 2),
    platform: 'linux',
    uptime: 1000 + i * 60,
  }));
  const metricFiles: Record<string, unknown> = {
    performance: { startTime: enc.ms(BASE_S, rng), totalTasks: rng.int(0, 999), successfulTasks: rng.int(0, 900), failedTasks: rng.int(0, 99), averageTaskTime: rng.round(rng.next() * 1e4, 1), agentsSpawned: rng.int(0, 50), memoryMode: 'hybrid', lastUpdated: enc.iso(BASE_S + 100, rng) },
    learning: { patterns: { shortTerm: rng.int(0, 99), longTerm: rng.int(0, 99) }, sona: { adaptationTimeMs: rng.round(rng.next(), 3), trajectories: rng.int(0, 999) }, lastConsolidation: enc.ms(BASE_S + 500, rng) },
    'system-metrics': samples,
  };
  if (volume === 'plan') {
    metricFiles['swarm-activity'] = { swarm: { active: false, agentCount: 0, coordinationScore: rng.round(rng.next()) }, timestamp: enc.iso(BASE_S + 700, rng) };
    metricFiles['codebase-map'] = { files: rng.int(100, 999), modules: Object.fromEntries(FILES.map((f) => [f, rng.int(10, 800)])), generatedAt: enc.iso(BASE_S + 800, rng) };
    metricFiles['security-audit'] = { findings: [{ severity: 'medium', rule: 'no-eval', file: rng.pick(FILES) }], scannedAt: enc.ms(BASE_S + 900, rng) };
    metricFiles['consolidation'] = { merged: rng.int(0, 50), pruned: rng.int(0, 20), at: enc.seconds(BASE_S + 1000) };
    metricFiles['test-gaps'] = Array.from({ length: 25 }, () => ({ file: rng.pick(FILES), uncoveredLines: rng.int(1, 80), priority: rng.pick(['high', 'medium', 'low']) }));
    metricFiles['health'] = { status: 'healthy', checks: { memory: 'ok', disk: 'ok' }, checkedAt: enc.iso(BASE_S + 1100, rng) };
  }
  for (const [name, content] of Object.entries(metricFiles)) {
    out.push({
      path: `${metricsDir}/${name}.json`,
      source: 'claude-flow-metrics',
      text: JSON.stringify(content, null, 2),
      counts: { [name]: Array.isArray(content) ? content.length : 1 },
    });
  }

  out.push(buildIntelligence(rng, n));
  return out;
}

/** v3/.ruvector/intelligence.json, pretty-printed with 2 spaces like the hooks write it. */
function buildIntelligence(rng: Rng, n: Sizes): JsonFile {
  const states = Array.from({ length: 40 }, (_, i) => `${rng.pick(['edit', 'cmd', 'read'])}:${rng.pick(['ts', 'js', 'md', 'json'])}:${FILES[i % FILES.length]}`);
  const patterns: Record<string, unknown> = {};
  let k = 0;
  while (Object.keys(patterns).length < n.intelPatterns) {
    const state = states[k % states.length] ?? 'edit:ts:src/index.ts';
    const action = `${rng.pick(AGENTS)}-${Math.floor(k / states.length)}`;
    patterns[`${state}|${action}`] = { state, action, q_value: rng.round(rng.next() * 2 - 1, 6), visits: rng.int(1, 90), last_update: rng.seconds() };
    k++;
  }

  // Ids are second-resolution timestamps: about 10% reuse the previous second and collide.
  const collidingSeconds = (count: number): number[] => {
    const out: number[] = [];
    let t = BASE_S;
    for (let i = 0; i < count; i++) {
      if (i > 0 && rng.chance(0.1)) out.push(t);
      else {
        t += rng.int(1, 5000);
        out.push(t);
      }
    }
    return out;
  };
  const memories = collidingSeconds(n.memories).map((s, i) => ({
    id: `mem_${s}`,
    memory_type: rng.pick(['edit', 'command', 'file_access', 'project', 'search_pattern']),
    content: `${rng.pick(['Edited', 'Ran', 'Read'])} ${rng.pick(FILES)}: ${sentence(rng, 4)}`,
    // Mostly 64-d; some null; one 384-d vector from a newer version.
    embedding: i % 19 === 4 ? null : rng.unitVector(i === 3 ? 384 : 64),
    metadata: { file: rng.pick(FILES), success: rng.chance(0.8) },
    timestamp: s,
  }));
  const trajectories = collidingSeconds(n.trajectories).map((s) => ({
    id: `traj_${s}`,
    state: rng.pick(states),
    action: rng.pick(AGENTS),
    outcome: rng.pick(['success', 'failure', 'partial']),
    reward: rng.round(rng.next() * 2 - 1, 3),
    timestamp: s,
  }));
  const errors: Record<string, unknown> = {};
  for (let i = 0; i < n.errors; i++) {
    errors[`E${1000 + i}`] = { code: `E${1000 + i}`, message: `TS${2300 + i}: ${sentence(rng, 4)}`, count: rng.int(1, 30), fixes: [sentence(rng, 3)], last_seen: rng.seconds() };
  }
  const fileSequences = Array.from({ length: n.fileSeq }, () => ({ from: rng.pick(FILES), to: rng.pick(FILES), count: rng.int(1, 40) }));
  const agents: Record<string, unknown> = {};
  for (let i = 0; i < n.agents; i++) agents[`${rng.pick(AGENTS)}-${i}`] = { type: rng.pick(AGENTS), tasks: rng.int(0, 200), success_rate: rng.round(rng.next()), last_active: rng.seconds() };
  const edges = Array.from({ length: n.edges }, () => ({ source: rng.pick(FILES), target: rng.pick(FILES), weight: rng.round(rng.next()), type: rng.pick(['imports', 'co-edit']) }));

  const doc = {
    patterns,
    memories,
    trajectories,
    errors,
    file_sequences: fileSequences,
    agents,
    edges,
    // Counters need not match the collections.
    stats: { total_patterns: n.intelPatterns + 3, total_memories: n.memories - 1, total_trajectories: n.trajectories, total_errors: n.errors, session_count: rng.int(1, 90), last_session: BASE_S + SPAN_S },
    learning: { algorithm: 'q-learning', alpha: 0.1, gamma: 0.9, epsilon: 0.1 },
  };
  return {
    path: sourcePath('ruvector-intelligence'),
    source: 'ruvector-intelligence',
    text: JSON.stringify(doc, null, 2),
    counts: {
      patterns: Object.keys(patterns).length,
      memories: memories.length,
      trajectories: trajectories.length,
      errors: Object.keys(errors).length,
      file_sequences: fileSequences.length,
      agents: Object.keys(agents).length,
      edges: edges.length,
    },
  };
}
