// SQLite table mappings: which target table a source table feeds, chosen by table name AND the
// columns discovered in that file (the same table has different columns in different files), and
// the per-column conversions and timestamp rules. Tables without a mapping land whole in
// `source_rows`. Pure.

import type { TargetRow } from '../../tables/target-tables.js';
import type { MapContext } from './map-context.js';
import { valueError } from './map-context.js';
import { RowBuilder } from './row-builder.js';
import { derivedKey, flatRowHasher, keyFromValues, OccurrenceKeys } from './row-identity.js';
import type { TimestampRule } from './values.js';
import { setOwn, toJsonSafe } from './values.js';

/** Table names the tools create: plain identifiers. Anything else is refused. */
export const PLAIN_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

// Every timestamp value is read by what it is (parseTimestamp: numbers by magnitude, text by its
// form); these rules document what each tool writes and only break ties.
/**
 * agentic-qe (all versions): INTEGER timestamps are `Date.now()` milliseconds (or
 * `strftime('%s')*1000`, also ms); TEXT ones are `datetime('now')` or `toISOString()`.
 */
export const AQE_TIMESTAMPS: TimestampRule = ['unix-ms', 'sqlite-text', 'iso'];
/** claude-flow 2.x `.swarm/memory.db`: Unix SECONDS (`strftime('%s','now')`). */
export const CLAUDE_FLOW_TIMESTAMPS: TimestampRule = ['unix-s', 'sqlite-text', 'iso'];
/** claude-flow 3.x `.swarm/memory.db` (MEMORY_SCHEMA_V3): Unix MILLISECONDS (`strftime('%s','now') * 1000`, `Date.now()`). */
export const CLAUDE_FLOW_V3_TIMESTAMPS: TimestampRule = ['unix-ms', 'sqlite-text', 'iso'];
/** ReasoningBank / AgentDB tables: `strftime('%s','now')` seconds, `datetime('now')` or ISO text. */
export const REASONING_BANK_TIMESTAMPS: TimestampRule = ['unix-s', 'sqlite-text', 'iso'];

/** One modelled column: the first present source column of `from` feeds `to`. */
export interface FieldSpec {
  to: string;
  from: readonly string[];
  ts?: TimestampRule;
  /** `real[]`: source columns holding the recorded dimension (first present). */
  dimFrom?: readonly string[];
}

export interface SqliteTableMapping {
  /** Variant name, for reports (`memory_entries/claude-flow`). */
  name: string;
  tables: readonly string[];
  target: string;
  /** The variant applies only when this holds for the discovered columns. */
  when?: (columns: ReadonlySet<string>) => boolean;
  fields: readonly FieldSpec[];
  /** Target timestamptz columns giving `sourceUpdatedAt`, by preference (first non-NULL). */
  updatedAt: readonly string[];
  /**
   * Prefix keys with `<sourceTable>:` because several tables of one source feed this target
   * (e.g. `vectors` and `embeddings` → `source_vectors`), so keys stay unique per target table.
   */
  keyWithTable?: boolean;
  /**
   * A vector the row carries (claude-flow's JSON-text `embedding`, agentic-qe's Float32 BLOB):
   * it also lands in `source_vectors` (one row per row with a vector, keyed
   * `<sourceTable>:<key>`, `owner_key` = the row's key) with its own model label and dimension,
   * and is left out of the main row's `extra`.
   */
  vectors?: VectorSpec;
}

/** Where a row's own vector is, for {@link SqliteTableMapping.vectors}. */
export interface VectorSpec {
  /** The vector column (first present): Float32 BLOB or JSON text array. */
  vector: readonly string[];
  /** The recorded dimension (first present). */
  dim?: readonly string[];
  /** The model label (first present). */
  model?: readonly string[];
  namespace?: readonly string[];
  created?: readonly string[];
  ts?: TimestampRule;
}

const f = (to: string, from: string | readonly string[] = to, extra: Omit<FieldSpec, 'to' | 'from'> = {}): FieldSpec => ({
  to,
  from: typeof from === 'string' ? [from] : from,
  ...extra,
});
const ts = (to: string, from: string | readonly string[] = to, rule: TimestampRule = AQE_TIMESTAMPS): FieldSpec => f(to, from, { ts: rule });

/** Every SQLite mapping; the first whose table and `when` match is used. */
export const SQLITE_MAPPINGS: readonly SqliteTableMapping[] = [
  {
    name: 'qe_patterns',
    tables: ['qe_patterns'],
    target: 'qe_patterns',
    fields: [
      f('pattern_type'), f('qe_domain'), f('domain'), f('name'), f('description'), f('confidence'), f('usage_count'),
      f('success_rate'), f('quality_score'), f('tier'), f('template', ['template_json', 'template']), f('context', ['context_json', 'context']),
      f('successful_uses'), ts('created_at'), ts('updated_at'), ts('last_used_at'),
    ],
    updatedAt: ['updated_at', 'created_at'],
  },
  {
    name: 'sona_patterns',
    tables: ['sona_patterns'],
    target: 'sona_patterns',
    fields: [
      f('type'), f('domain'), f('action_type'), f('action_value'), f('outcome_reward'), f('outcome_success'), f('outcome_quality'),
      f('confidence'), f('usage_count'), f('success_count'), f('failure_count'), f('metadata'), f('state_embedding'), f('action_embedding'),
      ts('created_at'), ts('updated_at'), ts('last_used_at'),
    ],
    updatedAt: ['updated_at', 'created_at'],
  },
  {
    name: 'q_values',
    tables: ['rl_q_values', 'q_values'],
    target: 'q_values',
    fields: [
      f('algorithm'), f('agent_id'), f('state_key'), f('action_key'), f('q_value'), f('visits', ['visits', 'update_count']), f('last_reward'),
      f('domain'), ts('created_at'), ts('updated_at', ['updated_at', 'last_updated']),
    ],
    updatedAt: ['updated_at', 'created_at'],
    keyWithTable: true,
  },
  {
    name: 'goap_actions',
    tables: ['goap_actions'],
    target: 'goap_actions',
    fields: [
      f('name'), f('description'), f('agent_type'), f('preconditions'), f('effects'), f('cost'),
      f('estimated_duration_ms', ['estimated_duration_ms', 'duration_estimate']), f('success_rate'), f('execution_count'), f('category'),
      f('qe_domain'), ts('created_at'), ts('updated_at'),
    ],
    updatedAt: ['updated_at', 'created_at'],
  },
  {
    name: 'goap_plans',
    tables: ['goap_plans'],
    target: 'goap_plans',
    fields: [
      f('goal_id'), f('initial_state'), f('goal_state'), f('action_sequence', ['action_sequence', 'sequence']), f('total_cost'),
      f('estimated_duration_ms'), f('status'), f('similarity_score'), ts('created_at'), ts('executed_at'), ts('completed_at'),
    ],
    updatedAt: ['completed_at', 'executed_at', 'created_at'],
  },
  {
    // agentic-qe 1.x/2.x: PK (key, partition), ms timestamps
    name: 'memory_entries/agentic-qe',
    tables: ['memory_entries'],
    target: 'memory_entries',
    when: (c) => c.has('partition'),
    fields: [
      f('key'), f('partition'), f('value'), f('metadata'), f('owner'), f('access_level'), f('access_count'), ts('created_at'),
      ts('updated_at'), ts('expires_at'),
    ],
    updatedAt: ['updated_at', 'created_at'],
  },
  {
    // claude-flow 3.x (MEMORY_SCHEMA_V3): id TEXT, the memory in `content`, milliseconds, a
    // JSON-text embedding with its model label and dimension
    name: 'memory_entries/claude-flow-v3',
    tables: ['memory_entries'],
    target: 'memory_entries',
    when: (c) => c.has('content') && c.has('namespace') && !c.has('partition'),
    fields: [
      f('key'), f('partition', 'namespace'), f('value', 'content'), f('metadata'), f('owner', 'owner_id'), f('access_count'),
      ts('created_at', 'created_at', CLAUDE_FLOW_V3_TIMESTAMPS), ts('updated_at', 'updated_at', CLAUDE_FLOW_V3_TIMESTAMPS),
      ts('expires_at', 'expires_at', CLAUDE_FLOW_V3_TIMESTAMPS),
    ],
    updatedAt: ['updated_at', 'created_at'],
    vectors: { vector: ['embedding'], dim: ['embedding_dimensions'], model: ['embedding_model'], namespace: ['namespace'], created: ['updated_at', 'created_at'], ts: CLAUDE_FLOW_V3_TIMESTAMPS },
  },
  {
    // claude-flow 2.x: id autoinc, UNIQUE(key, namespace), Unix SECONDS
    name: 'memory_entries/claude-flow',
    tables: ['memory_entries'],
    target: 'memory_entries',
    when: (c) => c.has('namespace') && !c.has('partition'),
    fields: [
      f('key'), f('partition', 'namespace'), f('value'), f('metadata'), f('owner'), f('access_level'), f('access_count'),
      ts('created_at', 'created_at', CLAUDE_FLOW_TIMESTAMPS), ts('updated_at', 'updated_at', CLAUDE_FLOW_TIMESTAMPS),
      ts('expires_at', 'expires_at', CLAUDE_FLOW_TIMESTAMPS),
    ],
    updatedAt: ['updated_at', 'created_at'],
  },
  {
    name: 'kv_store',
    tables: ['kv_store'],
    target: 'kv_entries',
    fields: [f('namespace'), f('key'), f('value'), ts('created_at'), ts('expires_at')],
    updatedAt: ['created_at'],
  },
  {
    name: 'events',
    tables: ['events'],
    target: 'events',
    fields: [f('type'), f('payload'), f('source'), ts('occurred_at', ['timestamp', 'occurred_at', 'created_at']), ts('expires_at')],
    updatedAt: ['occurred_at'],
  },
  {
    // agentic-qe: pattern UNIQUE, ms timestamps, optional `embedding TEXT` (JSON array)
    name: 'patterns/agentic-qe',
    tables: ['patterns'],
    target: 'patterns',
    when: (c) => c.has('pattern'),
    fields: [
      f('pattern'), f('agent_id'), f('domain'), f('confidence'), f('usage_count'), f('success_rate'), f('metadata'), ts('created_at'),
      ts('expires_at'), f('source_embedding', 'embedding'),
    ],
    updatedAt: ['created_at'],
  },
  {
    // ReasoningBank (.swarm/memory.db): pattern_data JSON, TEXT timestamps
    name: 'patterns/reasoningbank',
    tables: ['patterns'],
    target: 'patterns',
    when: (c) => c.has('pattern_data') && !c.has('pattern'),
    fields: [
      f('pattern', 'pattern_data'), f('agent_id'), f('domain'), f('confidence'), f('usage_count'), f('success_rate'), f('metadata'),
      ts('created_at', 'created_at', REASONING_BANK_TIMESTAMPS),
    ],
    updatedAt: ['created_at'],
  },
  {
    // claude-flow 3.x patterns (MEMORY_SCHEMA_V3): name, condition → action, JSON-text embedding, milliseconds
    name: 'patterns/claude-flow-v3',
    tables: ['patterns'],
    target: 'patterns',
    when: (c) => c.has('name') && c.has('condition') && c.has('action') && !c.has('pattern') && !c.has('pattern_data'),
    fields: [
      f('pattern', 'name'), f('domain', 'pattern_type'), f('confidence'), f('metadata'),
      ts('created_at', 'created_at', CLAUDE_FLOW_V3_TIMESTAMPS), f('source_embedding', 'embedding'),
    ],
    updatedAt: ['created_at'],
  },
  {
    // ReasoningBank (AgentDB ReasoningBank.js, claude-flow 3.x .swarm/memory.db): a task type and
    // the approach that worked, `ts` in Unix seconds
    name: 'patterns/reasoning-bank',
    tables: ['reasoning_patterns'],
    target: 'patterns',
    fields: [
      f('pattern', ['approach', 'pattern']), f('domain', ['task_type', 'domain']), f('success_rate'), f('usage_count', ['uses', 'usage_count']),
      f('confidence'), f('metadata'), ts('created_at', ['ts', 'created_at'], REASONING_BANK_TIMESTAMPS),
    ],
    updatedAt: ['created_at'],
    keyWithTable: true,
  },
  {
    // agentic-qe 3.x captured_experiences: a task, who ran it, its steps and result, mixed ISO /
    // SQLite-text times, an optional Float32 embedding
    name: 'learning_experiences/captured',
    tables: ['captured_experiences'],
    target: 'learning_experiences',
    fields: [
      f('task'), f('agent_id', ['agent', 'agent_id']), f('domain'), f('success'), f('quality'), f('action', ['steps_json', 'steps']),
      f('next_state', ['result_json', 'result']), f('outcome', 'error'), f('metadata', ['routing_json', 'metadata']), ts('started_at'),
      ts('ended_at', ['completed_at', 'ended_at']),
    ],
    updatedAt: ['ended_at', 'started_at'],
    keyWithTable: true,
    vectors: { vector: ['embedding'], dim: ['embedding_dimension', 'embedding_dimensions'], model: ['embedding_model', 'model'], created: ['completed_at', 'started_at'] },
  },
  {
    // AgentDB reflexion episodes (.swarm/memory.db): task, input → output, the self-critique, seconds
    name: 'learning_experiences/episodes',
    tables: ['episodes'],
    target: 'learning_experiences',
    when: (c) => c.has('task') && c.has('session_id'),
    fields: [
      f('task'), f('episode_id', 'session_id'), f('state', 'input'), f('action', 'output'), f('outcome', 'critique'), f('reward'), f('success'),
      f('metadata'), ts('created_at', ['created_at', 'ts'], REASONING_BANK_TIMESTAMPS),
    ],
    updatedAt: ['created_at'],
    keyWithTable: true,
  },
  {
    name: 'learning_experiences',
    tables: ['learning_experiences'],
    target: 'learning_experiences',
    fields: [
      f('agent_id'), f('task_id'), f('task_type'), f('state'), f('action'), f('reward'), f('next_state'), f('episode_id'), f('success'),
      f('metadata'), ts('created_at', ['created_at', 'timestamp']),
    ],
    updatedAt: ['created_at'],
  },
  {
    name: 'trajectories/qe',
    tables: ['qe_trajectories'],
    target: 'trajectories',
    fields: [
      f('task'), f('agent'), f('domain'), f('state'), f('action'), f('outcome'), f('reward'), f('success'), f('steps', ['steps_json', 'steps']),
      f('metadata', ['metadata_json', 'metadata']), ts('started_at'), ts('ended_at'),
    ],
    updatedAt: ['ended_at', 'started_at'],
    keyWithTable: true,
  },
  {
    name: 'trajectories/reasoningbank',
    tables: ['task_trajectories'],
    target: 'trajectories',
    fields: [
      f('task', ['query', 'task']), f('agent', ['agent_id', 'agent']), f('domain'), f('outcome', 'judge_label'), f('steps', ['trajectory_json', 'steps']),
      f('metadata'), ts('started_at', 'started_at', REASONING_BANK_TIMESTAMPS), ts('ended_at', 'ended_at', REASONING_BANK_TIMESTAMPS),
    ],
    updatedAt: ['ended_at', 'started_at'],
    keyWithTable: true,
  },
  {
    // claude-flow 3.x trajectories (MEMORY_SCHEMA_V3): a task, its verdict, milliseconds
    name: 'trajectories/claude-flow-v3',
    tables: ['trajectories'],
    target: 'trajectories',
    when: (c) => c.has('task') && c.has('verdict'),
    fields: [
      f('task'), f('outcome', 'verdict'), f('reward', 'total_reward'), f('metadata', 'context'),
      ts('started_at', 'started_at', CLAUDE_FLOW_V3_TIMESTAMPS), ts('ended_at', 'ended_at', CLAUDE_FLOW_V3_TIMESTAMPS),
    ],
    updatedAt: ['ended_at', 'started_at'],
    keyWithTable: true,
  },
  {
    // AgentDB vectors of episodes, skills, notes, experience nodes: Float32 BLOBs with a model label
    name: 'source_vectors/agentdb-embeddings',
    tables: ['episode_embeddings', 'skill_embeddings', 'note_embeddings', 'exp_node_embeddings', 'learning_state_embeddings'],
    target: 'source_vectors',
    fields: [
      f('owner_key', ['episode_id', 'skill_id', 'note_id', 'node_id', 'state_id', 'id']), f('model', ['embedding_model', 'model']),
      f('dimension', ['dimension', 'dimensions', 'dims']), f('vector', ['embedding', 'vector'], { dimFrom: ['dimension', 'dimensions', 'dims'] }),
      ts('created_at', ['created_at', 'ts'], REASONING_BANK_TIMESTAMPS),
    ],
    updatedAt: ['created_at'],
    keyWithTable: true,
  },
  {
    name: 'source_vectors/qe_pattern_embeddings',
    tables: ['qe_pattern_embeddings'],
    target: 'source_vectors',
    fields: [
      f('owner_key', 'pattern_id'), f('model'), f('dimension', ['dimension', 'dimensions']),
      f('vector', ['embedding', 'vector'], { dimFrom: ['dimension', 'dimensions'] }), ts('created_at'),
    ],
    updatedAt: ['created_at'],
    keyWithTable: true,
  },
  {
    name: 'source_vectors/vectors',
    tables: ['vectors'],
    target: 'source_vectors',
    fields: [
      f('owner_key', 'id'), f('namespace'), f('model'), f('dimension', ['dimensions', 'dimension']),
      f('vector', ['embedding', 'vector'], { dimFrom: ['dimensions', 'dimension'] }), f('metadata'), ts('created_at'),
    ],
    updatedAt: ['created_at'],
    keyWithTable: true,
  },
  {
    name: 'source_vectors/embeddings',
    tables: ['embeddings'],
    target: 'source_vectors',
    fields: [
      f('owner_key', ['key', 'id']), f('namespace'), f('model'), f('dimension', ['dimension', 'dimensions']),
      f('vector', ['vector', 'embedding'], { dimFrom: ['dimension', 'dimensions'] }), f('text'), f('metadata'),
      ts('created_at', ['timestamp', 'created_at']),
    ],
    updatedAt: ['created_at'],
    keyWithTable: true,
  },
  {
    name: 'source_vectors/pattern_embeddings',
    tables: ['pattern_embeddings'],
    target: 'source_vectors',
    fields: [
      f('owner_key', ['pattern_id', 'id']), f('model'), f('dimension', ['dims', 'dimension', 'dimensions']),
      f('vector', ['vector', 'embedding'], { dimFrom: ['dims', 'dimension', 'dimensions'] }), f('metadata'), ts('created_at'),
    ],
    updatedAt: ['created_at'],
    keyWithTable: true,
  },
];

/** The catch-all for tables without a mapping: the whole row as JSON in `source_rows.row`. */
export const SOURCE_ROWS_MAPPING = 'source_rows';

/** A column as `PRAGMA table_info` reports it. */
export interface SqliteColumn {
  name: string;
  /** Declared type (may be empty). */
  type: string;
  /** 1-based position in the primary key, 0 when not part of it. */
  pk: number;
}

/** How one discovered table is read: target, key, modelled fields, extra columns. */
export interface SqliteTablePlan {
  sourceTable: string;
  target: string;
  /** Mapping variant name, or `source_rows`. */
  mapping: string;
  /** Declared primary-key columns in key order; empty → keys derived from content. */
  keyColumns: string[];
  /**
   * A single key column without type affinity (declared type empty, BLOB or ANY) holds the
   * integer 1 and the text '1' as two keys: its numeric-looking text keys are quoted (`"1"`)
   * so the two rows keep two keys.
   */
  quoteNumericTextKeys?: boolean;
  keyWithTable: boolean;
  fields: Array<{ to: string; from: string; ts?: TimestampRule; dimFrom?: string }>;
  extraColumns: string[];
  updatedAt: readonly string[];
  columns: string[];
  /** Columns hashed for the content hash (default: every column): a vector row hashes only what it holds. */
  hashColumns?: string[];
  /** Read only the rows where this column is not NULL (a vector companion plan). */
  onlyWhereNotNull?: string;
  /** Sets `owner_key` to the row's own key (a vector companion plan). */
  ownerIsKey?: boolean;
}

/**
 * Chooses the mapping for a table from its name and discovered columns.
 *
 * @example
 * planSqliteTable('memory_entries', [{ name: 'id', type: 'INTEGER', pk: 1 }, { name: 'key', type: 'TEXT', pk: 0 }, { name: 'namespace', type: 'TEXT', pk: 0 }])
 * // → { target: 'memory_entries', mapping: 'memory_entries/claude-flow', keyColumns: ['id'], … }
 */
/**
 * SQLite's affinity rules: a declared type containing INT, CHAR/CLOB/TEXT, REAL/FLOA/DOUB (or
 * anything else: NUMERIC) converts values on the way in, so 1 and '1' cannot both be stored; an
 * empty type, BLOB, or ANY (STRICT tables) keeps each value as given.
 */
function hasNoAffinity(declared: string): boolean {
  const t = declared.trim().toUpperCase();
  return t === '' || t === 'ANY' || t.includes('BLOB');
}

/** Text that reads as the decimal form of a number (the form an integer or real key takes). */
const NUMERIC_TEXT = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?$/i;

export function planSqliteTable(table: string, columns: readonly SqliteColumn[]): SqliteTablePlan {
  const names = columns.map((c) => c.name);
  const present = new Set(names);
  const keyed = columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
  const keyColumns = keyed.map((c) => c.name);
  const quoting = keyed.length === 1 && hasNoAffinity(keyed[0]!.type) ? { quoteNumericTextKeys: true } : {};
  const mapping = SQLITE_MAPPINGS.find((m) => m.tables.includes(table) && (m.when ? m.when(present) : true));
  if (!mapping) {
    return { sourceTable: table, target: 'source_rows', mapping: SOURCE_ROWS_MAPPING, keyColumns, ...quoting, keyWithTable: true, fields: [], extraColumns: [], updatedAt: [], columns: names };
  }
  const used = new Set<string>();
  const fields: SqliteTablePlan['fields'] = [];
  for (const spec of mapping.fields) {
    const from = spec.from.find((c) => present.has(c) && !used.has(c));
    if (from === undefined) continue;
    used.add(from);
    const field: SqliteTablePlan['fields'][number] = { to: spec.to, from };
    if (spec.ts) field.ts = spec.ts;
    const dimFrom = spec.dimFrom?.find((c) => present.has(c));
    if (dimFrom !== undefined) field.dimFrom = dimFrom;
    fields.push(field);
  }
  // the vector (and its label and dimension) lives in source_vectors, not in this row's extra
  const vectorColumns = vectorPlanColumns(mapping, present);
  return {
    sourceTable: table,
    target: mapping.target,
    mapping: mapping.name,
    keyColumns,
    ...quoting,
    keyWithTable: mapping.keyWithTable ?? false,
    fields,
    extraColumns: names.filter((n) => !used.has(n) && !vectorColumns.has(n)),
    updatedAt: mapping.updatedAt,
    columns: names,
  };
}

function vectorPlanColumns(mapping: SqliteTableMapping, present: ReadonlySet<string>): Set<string> {
  const spec = mapping.vectors;
  const out = new Set<string>();
  if (!spec) return out;
  const vector = spec.vector.find((c) => present.has(c));
  if (vector === undefined) return out;
  out.add(vector);
  for (const list of [spec.dim, spec.model]) {
    const c = list?.find((x) => present.has(x));
    if (c !== undefined) out.add(c);
  }
  return out;
}

/**
 * The companion plan of a table whose rows carry their own vector ({@link SqliteTableMapping.vectors}):
 * the rows with a vector, as `source_vectors` rows keyed `<table>:<row key>`; null when the table
 * has no such column.
 *
 * @example
 * planSqliteVectors('memory_entries', columnsOf(claudeFlowV3))
 * // → { target: 'source_vectors', mapping: 'memory_entries/claude-flow-v3+vectors', onlyWhereNotNull: 'embedding', … }
 */
export function planSqliteVectors(table: string, columns: readonly SqliteColumn[]): SqliteTablePlan | null {
  const main = planSqliteTable(table, columns);
  const mapping = SQLITE_MAPPINGS.find((m) => m.name === main.mapping);
  const spec = mapping?.vectors;
  if (!mapping || !spec) return null;
  const present = new Set(columns.map((c) => c.name));
  const pick = (list: readonly string[] | undefined) => list?.find((c) => present.has(c));
  const vector = pick(spec.vector);
  if (vector === undefined) return null;
  const dim = pick(spec.dim);
  const fields: SqliteTablePlan['fields'] = [{ to: 'vector', from: vector, ...(dim !== undefined ? { dimFrom: dim } : {}) }];
  if (dim !== undefined) fields.push({ to: 'dimension', from: dim });
  const model = pick(spec.model);
  if (model !== undefined) fields.push({ to: 'model', from: model });
  const namespace = pick(spec.namespace);
  if (namespace !== undefined) fields.push({ to: 'namespace', from: namespace });
  const created = pick(spec.created);
  if (created !== undefined) fields.push({ to: 'created_at', from: created, ts: spec.ts ?? AQE_TIMESTAMPS });
  const hashColumns = [...new Set([...main.keyColumns, ...fields.map((x) => x.from)])];
  return {
    ...main,
    target: 'source_vectors',
    mapping: `${mapping.name}+vectors`,
    keyWithTable: true,
    fields,
    extraColumns: [],
    updatedAt: ['created_at'],
    hashColumns,
    onlyWhereNotNull: vector,
    ownerIsKey: true,
  };
}

/**
 * Maps the rows of one planned table, in read order. Keys: the declared primary key; without one
 * (or with a NULL part) `h:<content hash>`, with `#n` for identical rows (`#n` is deterministic
 * when the reader orders keyless tables by every column, which puts identical rows together).
 */
export class SqliteRowMapper {
  private lastDerived: string | null = null;
  private lastCount = 0;
  private readonly nullKeyOccurrences = new OccurrenceKeys();
  private readonly hash: (row: Record<string, unknown>) => string;
  /** Each field's conversion options, made once (a field with `dimFrom` gets its row's dimension). */
  private readonly fieldOptions: ReadonlyArray<{ ts?: TimestampRule }>;

  constructor(
    readonly plan: SqliteTablePlan,
    private readonly ctx: MapContext,
  ) {
    this.hash = flatRowHasher(plan.hashColumns ?? plan.columns);
    this.fieldOptions = plan.fields.map((field) => (field.ts ? { ts: field.ts } : {}));
  }

  map(row: Record<string, unknown>): TargetRow {
    const plan = this.plan;
    const hash = this.hash(row);
    const key = this.keyOf(row, hash);
    const sourceKey = plan.keyWithTable ? `${plan.sourceTable}:${key}` : key;
    if (plan.mapping === SOURCE_ROWS_MAPPING) {
      const out: Record<string, unknown> = {};
      for (const c of plan.columns) {
        const v = row[c];
        checkRowsValueSize(this.ctx, plan.sourceTable, sourceKey, c, v);
        setOwn(out, c, toJsonSafe(v, (n) => this.ctx.warnings.add('nul-stripped', plan.sourceTable, c, n, `row ${sourceKey}`)));
      }
      return { table: 'source_rows', sourceTable: plan.sourceTable, sourceKey, contentHash: hash, sourceUpdatedAt: null, values: { row: out }, extra: null };
    }
    const b = new RowBuilder(this.ctx, plan.target, plan.sourceTable, sourceKey);
    for (let i = 0; i < plan.fields.length; i++) {
      const field = plan.fields[i]!;
      const v = row[field.from];
      let opts: { ts?: TimestampRule; dim?: number | null } = this.fieldOptions[i]!;
      if (field.dimFrom !== undefined) {
        const d = row[field.dimFrom];
        opts = { ...opts, dim: typeof d === 'number' ? d : typeof d === 'bigint' ? Number(d) : null };
      }
      b.set(field.to, field.from, v, opts);
    }
    for (const c of plan.extraColumns) b.extra(c, row[c]);
    const built = b.build(hash, plan.updatedAt);
    if (plan.ownerIsKey) built.values['owner_key'] = key;
    if (plan.target === 'source_vectors' && built.values['dimension'] === undefined && Array.isArray(built.values['vector'])) {
      built.values['dimension'] = (built.values['vector'] as unknown[]).length;
    }
    return built;
  }

  private keyOf(row: Record<string, unknown>, hash: string): string {
    const plan = this.plan;
    if (plan.keyColumns.length > 0) {
      const parts = plan.keyColumns.map((c) => row[c]);
      for (const [i, p] of parts.entries()) {
        if (typeof p === 'string' && p.includes('\u0000')) {
          throw valueError(this.ctx, {
            table: plan.sourceTable,
            key: p.replaceAll('\u0000', '\\0'),
            field: plan.keyColumns[i],
            expected: 'a key without NUL characters',
            got: 'a NUL character in the key',
            fix: 'NUL cannot be stored in PostgreSQL and stripping it would change the row identity; fix or delete that row in the source and push again.',
          });
        }
      }
      const key = keyFromValues(parts);
      if (key !== undefined) {
        // untyped key column: the text '1' must not take the key of the integer 1
        if (plan.quoteNumericTextKeys && typeof parts[0] === 'string' && NUMERIC_TEXT.test(parts[0])) return JSON.stringify(parts[0]);
        return key;
      }
      this.ctx.warnings.add('derived-key', plan.sourceTable, plan.keyColumns.join(','), 1);
      return this.nullKeyOccurrences.next(derivedKey(hash));
    }
    const base = derivedKey(hash);
    if (base === this.lastDerived) this.lastCount++;
    else {
      this.lastDerived = base;
      this.lastCount = 1;
    }
    return this.lastCount === 1 ? base : `${base}#${this.lastCount}`;
  }
}

function checkRowsValueSize(ctx: MapContext, table: string, key: string, field: string, v: unknown): void {
  let size = 0;
  if (typeof v === 'string' && v.length * 3 > ctx.maxValueBytes) size = Buffer.byteLength(v, 'utf8');
  else if (v instanceof Uint8Array) size = v.byteLength;
  if (size > ctx.maxValueBytes) {
    throw valueError(ctx, {
      table,
      key,
      field,
      expected: `a value of at most ${ctx.maxValueBytes} bytes`,
      got: `${size} bytes`,
      fix: 'Such a value is not learning data the tools write; remove or shorten it in the source and push again.',
    });
  }
}
