// JSON source mappings: which collections of a parsed JSON file feed which target table, and how
// their records are keyed (claude-flow store v3/v2, daemon state, metrics files, ruvector
// intelligence, any other JSON). Every record lands somewhere; unknown members go to
// `source_rows`. Pure: takes the parsed document, yields TargetRows lazily.

import type { SourceFormat } from '../catalogue.js';
import type { TargetRow } from '../../tables/target-tables.js';
import type { MapContext } from './map-context.js';
import type { SetOptions } from './row-builder.js';
import { RowBuilder } from './row-builder.js';
import { contentHash, derivedKey, OccurrenceKeys } from './row-identity.js';
import type { TimestampRule } from './values.js';
import { parseJsonText, toJsonSafe } from './values.js';
import { elementsOf, everyElement, isArrayLike, isLazy, isObjectLike, membersOf } from './lazy-json.js';

/** One collection of a JSON document and the rows it yields. */
export interface JsonCollection {
  /** Collection name (`entries`, `memories`, a top-level member, a metrics file's base name…). */
  sourceTable: string;
  target: string;
  rows(): Iterable<TargetRow>;
}

/** JSON timestamps: numbers are `Date.now()` ms, strings ISO 8601. */
const JS_TIMESTAMPS: TimestampRule = ['unix-ms', 'iso'];
/** ruvector hooks (intelligence.json): Unix SECONDS, and milliseconds in the explicit trajectories (read by magnitude). */
const RUVECTOR_TIMESTAMPS: TimestampRule = ['unix-s', 'iso'];

type Obj = Record<string, unknown>;
// a lazy member of a large file is not a plain object (lazy-json.ts)
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v) && !isLazy(v);

/** A modelled member: `[targetColumn, sourceMember, options]`. */
type Field = readonly [string, string, SetOptions?];

/**
 * The collections of a parsed JSON document of `format`. `name` is the collection name used for
 * whole-file documents (metrics: the file's base name without `.json`).
 *
 * @example
 * for (const c of mapJsonDocument('ruvector-intelligence', doc, ctx, 'intelligence'))
 *   for (const row of c.rows()) …
 */
export function mapJsonDocument(format: SourceFormat, doc: unknown, ctx: MapContext, name: string): JsonCollection[] {
  switch (format) {
    case 'claude-flow-store':
      return mapStore(doc, ctx, name);
    case 'claude-flow-daemon':
      return mapDaemon(doc, ctx, name);
    case 'claude-flow-metrics':
      return [metricsCollection(doc, ctx, name)];
    case 'ruvector-intelligence':
      return mapIntelligence(doc, ctx, name);
    case 'ruvector-redb-meta':
      return [wholeDocument(doc, name)];
    default:
      return explode(doc, ctx, name, new Set());
  }
}

// ---------------------------------------------------------------------------------------------

/** Builds a row from an object: listed members into columns, every other member into `extra`. */
function objectRow(ctx: MapContext, target: string, sourceTable: string, key: string, obj: Obj, fields: readonly Field[], updatedAt: readonly string[], hash = contentHash(obj)): TargetRow {
  const b = new RowBuilder(ctx, target, sourceTable, key);
  const used = new Set<string>();
  for (const [to, from, opts] of fields) {
    if (!(from in obj) || used.has(from)) continue;
    used.add(from);
    b.set(to, from, obj[from], opts ?? {});
  }
  for (const [k, v] of Object.entries(obj)) if (!used.has(k)) b.extra(k, v);
  return b.build(hash, updatedAt);
}

function sourceRow(ctx: MapContext, sourceTable: string, key: string, value: unknown, hash = contentHash(value)): TargetRow {
  const row = toJsonSafe(value, (n) => ctx.warnings.add('nul-stripped', sourceTable, undefined, n, `row ${key}`));
  return { table: 'source_rows', sourceTable, sourceKey: `${sourceTable}:${key}`, contentHash: hash, sourceUpdatedAt: null, values: { row }, extra: null };
}

/** Key of an array element: `<id>#<first 12 hex of its content hash>` when it has an id, else `h:<hash>`; `#n` for exact repeats. */
function elementKey(el: unknown, hash: string, occurrences: OccurrenceKeys): string {
  const id = isObj(el) ? el['id'] : undefined;
  const base = typeof id === 'string' || typeof id === 'number' ? `${String(id)}#${hash.slice(0, 12)}` : derivedKey(hash);
  return occurrences.next(base);
}

/**
 * Unknown or unmodelled members → `source_rows`, one row per member/element: an array member
 * gives one row per element, an object member one row per member (keyed by its name), a scalar
 * one row. A top-level array or scalar document is one collection named `name`.
 */
function explode(doc: unknown, ctx: MapContext, name: string, skip: ReadonlySet<string>): JsonCollection[] {
  if (!isObj(doc)) return [memberCollection(ctx, name, doc, name)];
  return Object.entries(doc)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => memberCollection(ctx, k, v, k));
}

function memberCollection(ctx: MapContext, sourceTable: string, value: unknown, scalarKey: string): JsonCollection {
  return {
    sourceTable,
    target: 'source_rows',
    *rows() {
      // (a member of a large file may be lazy: its elements streamed from the file, lazy-json.ts)
      if (isArrayLike(value)) {
        const occ = new OccurrenceKeys();
        for (const el of elementsOf(value)) {
          const hash = contentHash(el);
          yield sourceRow(ctx, sourceTable, elementKey(el, hash, occ), el, hash);
        }
      } else if (isObjectLike(value)) {
        for (const [k, v] of membersOf(value)) yield sourceRow(ctx, sourceTable, k, v, contentHash({ [k]: v }));
      } else {
        yield sourceRow(ctx, sourceTable, scalarKey, value);
      }
    },
  };
}

function wholeDocument(doc: unknown, name: string): JsonCollection {
  return {
    sourceTable: name,
    target: 'source_rows',
    *rows() {
      yield { table: 'source_rows', sourceTable: name, sourceKey: `${name}:${name}`, contentHash: contentHash(doc), sourceUpdatedAt: null, values: { row: toJsonSafe(doc) }, extra: null };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// .claude-flow/memory/store.json

const STORE_V3_FIELDS: readonly Field[] = [
  ['key', 'key'],
  ['namespace', 'namespace'],
  // `value` is any JSON; a string holding a JSON document is decoded in mapStore (raw kept otherwise)
  ['value', 'value', { jsonText: false }],
  ['metadata', 'metadata', { jsonText: false }],
  ['access_count', 'accessCount'],
  // claude-flow 3.x writes createdAt (ISO); older stores storedAt, which wins when both are there
  ['stored_at', 'createdAt', { ts: JS_TIMESTAMPS }],
  ['stored_at', 'storedAt', { ts: JS_TIMESTAMPS }],
  ['last_accessed', 'lastAccessed', { ts: JS_TIMESTAMPS }],
];

const STORE_V2_FIELDS: readonly Field[] = [
  ['key', 'key'],
  ['namespace', 'namespace'],
  // v2 stored values JSON-encoded: decode valid JSON, keep other text as a JSON string.
  ['value', 'value', { jsonText: true }],
  ['metadata', 'metadata', { jsonText: true }],
  ['access_count', 'accessCount'],
  ['stored_at', 'timestamp', { ts: JS_TIMESTAMPS }],
  ['stored_at', 'storedAt', { ts: JS_TIMESTAMPS }],
  ['last_accessed', 'lastAccessed', { ts: JS_TIMESTAMPS }],
];

function mapStore(doc: unknown, ctx: MapContext, name: string): JsonCollection[] {
  if (!isObj(doc)) return explode(doc, ctx, name, new Set());
  const entries = doc['entries'];
  if (isObjectLike(entries)) {
    // v3: the records are the members of `entries`, keyed by their member name.
    const collection: JsonCollection = {
      sourceTable: 'entries',
      target: 'claude_flow_memory',
      *rows() {
        for (const [k, entry] of membersOf(entries)) {
          const obj = isObj(entry) ? entry : { value: entry };
          const row = objectRow(ctx, 'claude_flow_memory', 'entries', k, obj, STORE_V3_FIELDS, ['stored_at', 'last_accessed']);
          if (row.values['key'] === undefined) row.values['key'] = k;
          decodeJsonDocument(row, ctx);
          yield row;
        }
      },
    };
    return [collection, ...explode(doc, ctx, name, new Set(['entries']))];
  }
  // v2: { <namespace>: [ { key, value, namespace, timestamp } ] }
  const out: JsonCollection[] = [];
  for (const [ns, list] of Object.entries(doc)) {
    if (!isArrayLike(list) || !everyElement(list, isObj)) {
      out.push(memberCollection(ctx, ns, list, ns));
      continue;
    }
    out.push({
      sourceTable: ns,
      target: 'claude_flow_memory',
      *rows() {
        const occ = new OccurrenceKeys();
        for (const el of elementsOf(list) as Iterable<Obj>) {
          const hash = contentHash(el);
          const k = el['key'];
          const key = occ.next(typeof k === 'string' || typeof k === 'number' ? JSON.stringify([ns, String(k)]) : derivedKey(hash));
          const row = objectRow(ctx, 'claude_flow_memory', ns, key, el, STORE_V2_FIELDS, ['stored_at', 'last_accessed'], hash);
          if (row.values['namespace'] === undefined) row.values['namespace'] = ns;
          yield row;
        }
      },
    });
  }
  return out;
}

/**
 * claude-flow 3.x stores many values as a JSON document encoded in a string: decoded (so
 * `value->>'agent'` works), with `extra.$decoded` naming the member, so the string can be rebuilt
 * exactly; a string that is not a JSON object or array stays the string it is.
 */
function decodeJsonDocument(row: TargetRow, ctx: MapContext): void {
  const value = row.values['value'];
  if (typeof value !== 'string' || !/^\s*[[{]/.test(value)) return;
  const parsed = parseJsonText(value, { maxDepth: ctx.maxJsonDepth });
  if (parsed.kind !== 'json' || parsed.value === null || typeof parsed.value !== 'object') return;
  row.values['value'] = parsed.value;
  row.extra = { ...(row.extra ?? {}), $decoded: ['value'] };
}

// ---------------------------------------------------------------------------------------------
// .claude-flow/daemon-state.json

const WORKER_FIELDS: readonly Field[] = [
  ['run_count', 'runCount'],
  ['success_count', 'successCount'],
  ['failure_count', 'failureCount'],
  ['average_duration_ms', 'averageDurationMs'],
  ['is_running', 'isRunning'],
  ['last_run', 'lastRun', { ts: JS_TIMESTAMPS }],
  ['next_run', 'nextRun', { ts: JS_TIMESTAMPS }],
];

function mapDaemon(doc: unknown, ctx: MapContext, name: string): JsonCollection[] {
  if (!isObj(doc) || !isObjectLike(doc['workers'])) return explode(doc, ctx, name, new Set());
  const workers = doc['workers'];
  return [
    {
      sourceTable: 'workers',
      target: 'claude_flow_workers',
      *rows() {
        for (const [type, w] of membersOf(workers)) {
          const obj = isObj(w) ? w : { value: w };
          const row = objectRow(ctx, 'claude_flow_workers', 'workers', type, obj, WORKER_FIELDS, ['last_run'], contentHash({ [type]: w }));
          row.values['worker_type'] = type;
          yield row;
        }
      },
    },
    ...explode(doc, ctx, name, new Set(['workers'])),
  ];
}

// ---------------------------------------------------------------------------------------------
// .claude-flow/metrics/*.json

/** Members that date a metrics sample or file (numbers ms, strings ISO), by preference. */
const METRIC_TIME_MEMBERS = ['timestamp', 'lastUpdated', 'updatedAt', 'generatedAt', 'checkedAt', 'scannedAt', 'savedAt'] as const;

function metricsCollection(doc: unknown, ctx: MapContext, name: string): JsonCollection {
  const one = (el: unknown, key: string, hash: string): TargetRow => {
    const b = new RowBuilder(ctx, 'metrics', name, key);
    b.set('metric_file', '(file)', name);
    b.set('data', '(data)', el, { jsonText: false });
    if (isObj(el)) {
      const member = METRIC_TIME_MEMBERS.find((m) => el[m] !== undefined && el[m] !== null);
      if (member) b.set('sampled_at', member, el[member], { ts: JS_TIMESTAMPS });
    }
    return b.build(hash, ['sampled_at']);
  };
  return {
    sourceTable: name,
    target: 'metrics',
    *rows() {
      if (isArrayLike(doc)) {
        const occ = new OccurrenceKeys();
        for (const el of elementsOf(doc)) {
          const hash = contentHash(el);
          const t = isObj(el) ? el['timestamp'] : undefined;
          const base = typeof t === 'number' || typeof t === 'string' ? `${name}:t=${String(t)}` : `${name}:${derivedKey(hash)}`;
          yield one(el, occ.next(base), hash);
        }
      } else {
        yield one(doc, name, contentHash(doc));
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// v3/.ruvector/intelligence.json

const MEMORY_FIELDS: readonly Field[] = [
  ['memory_type', 'memory_type'],
  ['content', 'content'],
  ['metadata', 'metadata', { jsonText: false }],
  ['occurred_at', 'timestamp', { ts: RUVECTOR_TIMESTAMPS }],
];
/**
 * Both shapes in `trajectories`: the Q-learning one `{ id "traj_<s>", state, action, outcome,
 * reward, timestamp s }` and the explicit one `hooks trajectory-begin/step/end` writes
 * `{ id "traj_<ms>_<rand>", context, agent, file, steps: [{ action, result, reward, time }],
 * startTime ms, endTime ms, quality, success }` (ruvector 0.3.x bin/cli.js).
 */
const TRAJECTORY_FIELDS: readonly Field[] = [
  ['state', 'state'],
  ['action', 'action'],
  ['outcome', 'outcome'],
  ['reward', 'reward'],
  ['reward', 'quality'],
  ['success', 'success'],
  ['task', 'context'],
  ['task', 'task'],
  ['agent', 'agent'],
  ['steps', 'steps', { jsonText: false }],
  ['metadata', 'metadata', { jsonText: false }],
  ['started_at', 'timestamp', { ts: RUVECTOR_TIMESTAMPS }],
  ['started_at', 'startTime', { ts: RUVECTOR_TIMESTAMPS }],
  ['ended_at', 'endTime', { ts: RUVECTOR_TIMESTAMPS }],
];
const QPATTERN_FIELDS: readonly Field[] = [
  ['state', 'state'],
  ['action', 'action'],
  ['q_value', 'q_value'],
  ['visits', 'visits'],
  ['last_update', 'last_update', { ts: RUVECTOR_TIMESTAMPS }],
];

function mapIntelligence(doc: unknown, ctx: MapContext, name: string): JsonCollection[] {
  if (!isObj(doc)) return explode(doc, ctx, name, new Set());
  const out: JsonCollection[] = [];
  const handled = new Set<string>();
  const patterns = doc['patterns'];
  if (isObjectLike(patterns)) {
    handled.add('patterns');
    out.push({
      sourceTable: 'patterns',
      target: 'qlearning_patterns',
      *rows() {
        for (const [k, p] of membersOf(patterns)) {
          const obj = isObj(p) ? p : { q_value: p };
          const row = objectRow(ctx, 'qlearning_patterns', 'patterns', k, obj, QPATTERN_FIELDS, ['last_update'], contentHash({ [k]: p }));
          // "<state>|<action>": fill what the record lacks from its name.
          const bar = k.indexOf('|');
          if (row.values['state'] === undefined && bar >= 0) row.values['state'] = k.slice(0, bar);
          if (row.values['action'] === undefined && bar >= 0) row.values['action'] = k.slice(bar + 1);
          yield row;
        }
      },
    });
  }
  const memories = doc['memories'];
  if (isArrayLike(memories)) {
    handled.add('memories');
    out.push({
      sourceTable: 'memories',
      target: 'intelligence_memories',
      *rows() {
        const occ = new OccurrenceKeys();
        for (const m of elementsOf(memories)) {
          const obj: Obj = isObj(m) ? m : { content: m };
          const hash = contentHash(m);
          const key = elementKey(m, hash, occ);
          const { embedding, ...rest } = obj;
          const row = objectRow(ctx, 'intelligence_memories', 'memories', key, rest, MEMORY_FIELDS, ['occurred_at'], hash);
          if (embedding !== null && embedding !== undefined) {
            // Hash vectors (64-d, or 384-d from newer versions) are not semantic: their own column, never `embedding`.
            const b = new RowBuilder(ctx, 'intelligence_memories', 'memories', key);
            b.set('hash_embedding', 'embedding', embedding);
            const vec = b.build(hash).values['hash_embedding'] as number[];
            row.values['hash_embedding'] = vec;
            row.values['hash_embedding_dim'] = vec.length;
          }
          yield row;
        }
      },
    });
  }
  const trajectories = doc['trajectories'];
  if (isArrayLike(trajectories)) {
    handled.add('trajectories');
    out.push({
      sourceTable: 'trajectories',
      target: 'trajectories',
      *rows() {
        const occ = new OccurrenceKeys();
        for (const t of elementsOf(trajectories)) {
          const obj = isObj(t) ? t : { outcome: t };
          const hash = contentHash(t);
          yield objectRow(ctx, 'trajectories', 'trajectories', `trajectories:${elementKey(t, hash, occ)}`, obj, TRAJECTORY_FIELDS, ['ended_at', 'started_at'], hash);
        }
      },
    });
  }
  return [...out, ...explode(doc, ctx, name, handled)];
}
