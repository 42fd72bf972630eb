// The cloud tables the loader writes (schema `aqe`): their modelled columns, merge policy and
// which of them carry embeddings. The SQL migrations create exactly these columns (a test checks);
// the loader's transforms produce `values` keyed by these names. Pure data.

/** Column types, as the transforms produce them and COPY writes them. */
/** `bytea`: a sha256, travelling as 64 lowercase hex characters and stored as its 32 bytes (migration 025). */
export type ColumnType = 'text' | 'jsonb' | 'double' | 'bigint' | 'integer' | 'boolean' | 'timestamptz' | 'real[]' | 'double[]' | 'bytea';

export interface TargetColumn {
  name: string;
  type: ColumnType;
}

/**
 * How a changed row is merged (DESIGN.md 3.4):
 * - `immutable`: events, trajectories, experiences: inserted once, never updated
 * - `latest`: newer `source_updated_at` wins; an older snapshot never overwrites newer data;
 *    same time with different values → the later snapshot wins
 * - `pattern`: as `latest`, but at the same time the higher `confidence` wins, and the
 *    `counters` never go backwards (GREATEST of old and new)
 */
export type MergePolicy = 'immutable' | 'latest' | 'pattern';

export interface TargetTable {
  name: string;
  columns: readonly TargetColumn[];
  policy: MergePolicy;
  /** Counter columns that never decrease (policy `pattern`). */
  counters?: readonly string[];
  /**
   * Gets a 384-d embedding of our model (plus a full-text index on its text): every table whose
   * rows can hold words a person wrote (recipes.ts says which text).
   */
  embedded: boolean;
}

/** Columns every synced table has, in this order, before the modelled ones. */
export const COMMON_COLUMNS: readonly TargetColumn[] = [
  { name: 'source_env', type: 'text' },
  { name: 'source_id', type: 'text' },
  { name: 'source_table', type: 'text' },
  { name: 'source_key', type: 'text' },
  { name: 'content_hash', type: 'bytea' },
  { name: 'source_updated_at', type: 'timestamptz' },
  { name: 'extra', type: 'jsonb' },
];
/** Bookkeeping columns the loader sets itself (not produced by transforms). */
export const RUN_COLUMNS = ['first_run_id', 'last_run_id', 'snapshot_at', 'missing_since'] as const;
// snapshot_at: createdAt of the snapshot that last changed the row; orders "later snapshot wins"
// when two versions carry the same (or no) source_updated_at.
/** Embedding columns on `embedded` tables (set by the embedding stage, not by transforms). */
export const EMBEDDING_COLUMNS = ['embedding', 'embedding_model', 'embedding_text_hash', 'embedding_status', 'search_text'] as const;

const t = (name: string, type: ColumnType): TargetColumn => ({ name, type });

export const TARGET_TABLES: readonly TargetTable[] = [
  {
    name: 'memory_entries',
    policy: 'latest',
    embedded: true,
    columns: [
      t('key', 'text'), t('partition', 'text'), t('value', 'jsonb'), t('metadata', 'jsonb'), t('owner', 'text'),
      t('access_level', 'text'), t('access_count', 'bigint'), t('created_at', 'timestamptz'), t('updated_at', 'timestamptz'),
      t('expires_at', 'timestamptz'),
    ],
  },
  {
    name: 'kv_entries',
    policy: 'latest',
    embedded: true,
    columns: [t('namespace', 'text'), t('key', 'text'), t('value', 'jsonb'), t('created_at', 'timestamptz'), t('expires_at', 'timestamptz')],
  },
  {
    name: 'learning_experiences',
    policy: 'immutable',
    embedded: true,
    columns: [
      t('agent_id', 'text'), t('task_id', 'text'), t('task_type', 'text'), t('state', 'jsonb'), t('action', 'jsonb'),
      t('reward', 'double'), t('next_state', 'jsonb'), t('episode_id', 'text'), t('success', 'boolean'), t('metadata', 'jsonb'),
      t('created_at', 'timestamptz'),
      // migration 020: agentic-qe 3.x captured_experiences and AgentDB episodes
      t('task', 'text'), t('domain', 'text'), t('outcome', 'text'), t('quality', 'double'), t('started_at', 'timestamptz'),
      t('ended_at', 'timestamptz'),
    ],
  },
  {
    name: 'goap_actions',
    policy: 'latest',
    embedded: true,
    columns: [
      t('name', 'text'), t('description', 'text'), t('agent_type', 'text'), t('preconditions', 'jsonb'), t('effects', 'jsonb'),
      t('cost', 'double'), t('estimated_duration_ms', 'double'), t('success_rate', 'double'), t('execution_count', 'bigint'),
      t('category', 'text'), t('qe_domain', 'text'), t('created_at', 'timestamptz'), t('updated_at', 'timestamptz'),
    ],
  },
  {
    name: 'goap_plans',
    policy: 'latest',
    embedded: true,
    columns: [
      t('goal_id', 'text'), t('initial_state', 'jsonb'), t('goal_state', 'jsonb'), t('action_sequence', 'jsonb'), t('total_cost', 'double'),
      t('estimated_duration_ms', 'double'), t('status', 'text'), t('similarity_score', 'double'), t('created_at', 'timestamptz'),
      t('executed_at', 'timestamptz'), t('completed_at', 'timestamptz'),
    ],
  },
  {
    name: 'patterns',
    policy: 'pattern',
    counters: ['usage_count'],
    embedded: true,
    columns: [
      t('pattern', 'text'), t('agent_id', 'text'), t('domain', 'text'), t('confidence', 'double'), t('usage_count', 'bigint'),
      t('success_rate', 'double'), t('metadata', 'jsonb'), t('created_at', 'timestamptz'), t('expires_at', 'timestamptz'),
      t('source_embedding', 'real[]'),
    ],
  },
  {
    name: 'events',
    policy: 'immutable',
    embedded: true,
    columns: [t('type', 'text'), t('payload', 'jsonb'), t('source', 'text'), t('occurred_at', 'timestamptz'), t('expires_at', 'timestamptz')],
  },
  {
    name: 'qe_patterns',
    policy: 'pattern',
    counters: ['usage_count', 'successful_uses'],
    embedded: true,
    columns: [
      t('pattern_type', 'text'), t('qe_domain', 'text'), t('domain', 'text'), t('name', 'text'), t('description', 'text'),
      t('confidence', 'double'), t('usage_count', 'bigint'), t('success_rate', 'double'), t('quality_score', 'double'), t('tier', 'text'),
      t('template', 'jsonb'), t('context', 'jsonb'), t('successful_uses', 'bigint'), t('created_at', 'timestamptz'),
      t('updated_at', 'timestamptz'), t('last_used_at', 'timestamptz'),
    ],
  },
  {
    name: 'sona_patterns',
    policy: 'pattern',
    counters: ['usage_count', 'success_count', 'failure_count'],
    embedded: true,
    columns: [
      t('type', 'text'), t('domain', 'text'), t('action_type', 'text'), t('action_value', 'jsonb'), t('outcome_reward', 'double'),
      t('outcome_success', 'boolean'), t('outcome_quality', 'double'), t('confidence', 'double'), t('usage_count', 'bigint'),
      t('success_count', 'bigint'), t('failure_count', 'bigint'), t('metadata', 'jsonb'), t('state_embedding', 'real[]'),
      t('action_embedding', 'real[]'), t('created_at', 'timestamptz'), t('updated_at', 'timestamptz'), t('last_used_at', 'timestamptz'),
    ],
  },
  {
    // Q-values of ruvector hooks (intelligence.json `patterns`: "<state>|<action>" → q_value)
    name: 'qlearning_patterns',
    policy: 'latest',
    embedded: false,
    columns: [t('state', 'text'), t('action', 'text'), t('q_value', 'double'), t('visits', 'bigint'), t('last_update', 'timestamptz')],
  },
  {
    // Q-values of every algorithm in the agentic-qe databases (rl_q_values, q_values)
    name: 'q_values',
    policy: 'latest',
    embedded: false,
    columns: [
      t('algorithm', 'text'), t('agent_id', 'text'), t('state_key', 'text'), t('action_key', 'text'), t('q_value', 'double'),
      t('visits', 'bigint'), t('last_reward', 'double'), t('domain', 'text'), t('created_at', 'timestamptz'), t('updated_at', 'timestamptz'),
    ],
  },
  {
    name: 'intelligence_memories',
    policy: 'latest',
    embedded: true,
    columns: [
      // hash_embedding: double precision since migration 022 (the source's float64 values, exactly)
      t('memory_type', 'text'), t('content', 'text'), t('metadata', 'jsonb'), t('hash_embedding', 'double[]'), t('hash_embedding_dim', 'integer'),
      t('occurred_at', 'timestamptz'),
    ],
  },
  {
    name: 'trajectories',
    policy: 'immutable',
    embedded: true,
    columns: [
      t('task', 'text'), t('agent', 'text'), t('domain', 'text'), t('state', 'text'), t('action', 'text'), t('outcome', 'text'),
      t('reward', 'double'), t('success', 'boolean'), t('steps', 'jsonb'), t('metadata', 'jsonb'), t('started_at', 'timestamptz'),
      t('ended_at', 'timestamptz'),
    ],
  },
  {
    name: 'claude_flow_memory',
    policy: 'latest',
    embedded: true,
    columns: [
      t('key', 'text'), t('namespace', 'text'), t('value', 'jsonb'), t('metadata', 'jsonb'), t('access_count', 'bigint'),
      t('stored_at', 'timestamptz'), t('last_accessed', 'timestamptz'),
    ],
  },
  {
    name: 'claude_flow_workers',
    policy: 'latest',
    embedded: false,
    columns: [
      t('worker_type', 'text'), t('run_count', 'bigint'), t('success_count', 'bigint'), t('failure_count', 'bigint'),
      t('average_duration_ms', 'double'), t('is_running', 'boolean'), t('last_run', 'timestamptz'), t('next_run', 'timestamptz'),
    ],
  },
  {
    // claude-flow metrics/*.json: one row per array element or per top-level object
    name: 'metrics',
    policy: 'latest',
    embedded: true,
    columns: [t('metric_file', 'text'), t('sampled_at', 'timestamptz'), t('data', 'jsonb')],
  },
  {
    // vectors the sources already hold (qe_pattern_embeddings, vectors, embeddings, the redb file),
    // with their recorded provenance; never mixed with ours
    name: 'source_vectors',
    policy: 'latest',
    embedded: true,
    columns: [
      t('owner_key', 'text'), t('namespace', 'text'), t('model', 'text'), t('dimension', 'integer'), t('vector', 'real[]'),
      t('text', 'text'), t('metadata', 'jsonb'), t('created_at', 'timestamptz'),
    ],
  },
  {
    // catch-all: any table or JSON collection without a mapping, whole rows as JSON
    name: 'source_rows',
    policy: 'latest',
    embedded: true,
    columns: [t('row', 'jsonb')],
  },
];

export type TargetTableName = (typeof TARGET_TABLES)[number]['name'];

/** The target table with this name (throws for an unknown name: a programming error). */
export function targetTable(name: string): TargetTable {
  const table = TARGET_TABLES.find((x) => x.name === name);
  if (!table) throw new TypeError(`unknown target table "${name}"`);
  return table;
}

/**
 * One row produced by a source mapping, ready to stage. `values` holds the modelled columns of
 * `table` (missing ones are NULL); `extra` holds source columns the mapping does not model.
 */
export interface TargetRow {
  table: string;
  sourceTable: string;
  sourceKey: string;
  /** sha256 hex of the canonical JSON of the source row (decides "unchanged"). */
  contentHash: string;
  sourceUpdatedAt: Date | null;
  values: Record<string, unknown>;
  extra: Record<string, unknown> | null;
  /** Text that represents the row for search (text recipe), on `embedded` tables; set before writing. */
  searchText?: string | null;
  /** Our 384-d embedding of `searchText`, when available before writing (cache hit or computed). */
  embedding?: { vector: Float32Array | readonly number[]; model: string } | null;
}
