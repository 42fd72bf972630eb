// The catalogue of known local learning-data sources: stable ids, default paths (relative to a
// workspace root), storage kind, content format and role. Pure data; no I/O.

/** How a source is stored on disk. Confirmed from content, never from the file name. */
export type SourceKind = 'sqlite' | 'json' | 'json-dir' | 'redb';

/**
 * What the content is, which decides how the loader maps it:
 * - `sqlite`: any agentic-qe / claude-flow SQLite file (tables are discovered and mapped by name)
 * - `claude-flow-store`, `claude-flow-daemon`, `claude-flow-metrics`, `ruvector-intelligence`: known JSON layouts
 * - `ruvector-redb` (+ `ruvector-redb-meta` for its `.meta.json` sidecar): @ruvector/core VectorDb file
 * - `json`: any other JSON file (lands whole in `source_rows`)
 */
export type SourceFormat =
  | 'sqlite'
  | 'claude-flow-store'
  | 'claude-flow-daemon'
  | 'claude-flow-metrics'
  | 'ruvector-intelligence'
  | 'ruvector-redb'
  | 'ruvector-redb-meta'
  | 'json';

/** The role users give each source in their inventory. */
export type SourceRole = 'PRIMARY' | 'ACTIVE' | 'HISTORICAL' | 'STALE' | 'LEGACY';

export interface CatalogueEntry {
  /** Stable id, used as `source_id` in the cloud. */
  id: string;
  kind: SourceKind;
  format: SourceFormat;
  role: SourceRole;
  /** Candidate paths relative to the workspace root (posix separators); every existing one is captured. */
  paths: string[];
  /** For `redb`: sidecar files captured beside the main file when they exist. */
  sidecars?: string[];
  description: string;
}

export const SOURCE_KINDS: readonly SourceKind[] = ['sqlite', 'json', 'json-dir', 'redb'];
export const SOURCE_FORMATS: readonly SourceFormat[] = [
  'sqlite',
  'claude-flow-store',
  'claude-flow-daemon',
  'claude-flow-metrics',
  'ruvector-intelligence',
  'ruvector-redb',
  'ruvector-redb-meta',
  'json',
];
export const SOURCE_ROLES: readonly SourceRole[] = ['PRIMARY', 'ACTIVE', 'HISTORICAL', 'STALE', 'LEGACY'];

/** Every source the tools are known to write. */
export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    id: 'v3-memory',
    kind: 'sqlite',
    format: 'sqlite',
    role: 'PRIMARY',
    paths: ['v3/.agentic-qe/memory.db'],
    description: 'agentic-qe 3.x runtime database (qe_patterns, sona_patterns, rl_q_values, goap_*, kv_store, …)',
  },
  {
    id: 'root-memory',
    kind: 'sqlite',
    format: 'sqlite',
    role: 'HISTORICAL',
    paths: ['.agentic-qe/memory.db'],
    description: 'agentic-qe 1.x/2.x database (memory_entries, events, patterns, learning_experiences, …)',
  },
  {
    id: 'swarm-memory',
    kind: 'sqlite',
    format: 'sqlite',
    role: 'LEGACY',
    paths: ['.swarm/memory.db'],
    description: 'claude-flow / agentic-qe swarm memory (memory_entries, ReasoningBank patterns, trajectories)',
  },
  {
    id: 'claude-flow-store',
    kind: 'json',
    format: 'claude-flow-store',
    role: 'ACTIVE',
    paths: ['.claude-flow/memory/store.json'],
    description: 'claude-flow memory store (entries by key)',
  },
  {
    id: 'claude-flow-daemon',
    kind: 'json',
    format: 'claude-flow-daemon',
    role: 'ACTIVE',
    paths: ['.claude-flow/daemon-state.json'],
    description: 'claude-flow daemon state (workers and their counters)',
  },
  {
    id: 'claude-flow-metrics',
    kind: 'json-dir',
    format: 'claude-flow-metrics',
    role: 'ACTIVE',
    paths: ['.claude-flow/metrics'],
    description: 'claude-flow metrics folder (*.json, one object or array per file)',
  },
  {
    id: 'ruvector-intelligence',
    kind: 'json',
    format: 'ruvector-intelligence',
    role: 'ACTIVE',
    paths: ['v3/.ruvector/intelligence.json'],
    description: 'ruvector hooks intelligence (Q-value patterns, 64-d memories, trajectories)',
  },
  {
    id: 'ruvector-patterns',
    kind: 'redb',
    format: 'ruvector-redb',
    role: 'LEGACY',
    paths: ['v2/data/ruvector-patterns.db'],
    sidecars: ['.meta.json'],
    description: 'legacy @ruvector/core VectorDb (redb) file of pattern vectors; not SQLite',
  },
];

/** The catalogue entry with this id, if any. */
export function catalogueEntry(id: string): CatalogueEntry | undefined {
  return CATALOGUE.find((e) => e.id === id);
}

/** Source ids: lowercase letters, digits and dashes (they appear in object keys and SQL values). */
export const SOURCE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Environment names (laptop, devpod, ci, …): they appear in object keys and IAM conditions. */
export const ENV_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
