// Text recipes: which text represents a row of each `embedded` target table for semantic search
// (and its full-text index). Pure and deterministic: the same values always give the same text,
// whatever the key order of their JSON, so unchanged rows are never embedded again.
//
// | table                 | text, in this order (parts joined with ". ")                                           |
// |-----------------------|-----------------------------------------------------------------------------------------|
// | qe_patterns           | name, description, pattern_type, qe_domain, domain (if different), tier,                |
// |                       | strings of template (≤ 400 chars), strings of context (≤ 200)                           |
// | sona_patterns         | type, domain, action_type, strings + scalar keys of action_value (≤ 400),              |
// |                       | outcome ("succeeded"/"failed"), strings of metadata (≤ 200)                            |
// | patterns              | pattern (its strings when it is JSON), domain, description / "when:" condition /       |
// |                       | "then:" action (claude-flow 3.x, from extra), strings of metadata (≤ 200)              |
// | memory_entries        | key (separators as spaces), partition, strings of value (≤ 700)                        |
// | kv_entries            | key (separators as spaces), namespace, strings of value (≤ 700)                        |
// | learning_experiences  | task, task_type, domain, "state:" strings + scalar keys of state (≤ 300), "action:"    |
// |                       | the same (≤ 300), "result:" strings of next_state (≤ 200), "outcome:" outcome,        |
// |                       | "reward <r>" (2 decimals), "succeeded"/"failed"                                        |
// | claude_flow_memory    | key (separators as spaces), namespace, strings of value (≤ 700)                        |
// | goap_actions          | name, description, category, agent_type, qe_domain, "requires:" precondition keys,     |
// |                       | "effects:" effect keys (keys in words: hasTests → has tests)                          |
// | goap_plans            | status, "goal:" strings + scalar keys of goal_state (≤ 300), "plan:" strings of        |
// |                       | action_sequence (≤ 300)                                                                |
// | events                | type in words, source, strings of payload (≤ 700)                                      |
// | trajectories          | task, agent, domain, state, action, outcome, strings of steps (≤ 400) and metadata (≤ 200) |
// | metrics               | file name in words, strings of data (≤ 700); only when data has words                  |
// | intelligence_memories | content                                                                                 |
// | source_vectors        | text (the text the tool embedded, when it kept it)                                     |
// | source_rows           | (catch-all rows) source table in words, strings of the row (≤ 700); only when the row |
// |                       | has words                                                                              |
//
// Every text: control characters removed, whitespace collapsed, cut at a word boundary to at most
// 1,000 characters (the model reads 256 tokens anyway); null when no letter or digit is left.
// Tables without `embedded` get null. JSON is read from objects or from JSON text (also JSON text
// inside a JSON string); object keys are visited in sorted order; only meaningful strings are kept
// (no ids, hashes, timestamps, numbers, blobs).
import { TARGET_TABLES } from '../tables/target-tables.js';

/** Longest search text, in characters. */
export const MAX_SEARCH_TEXT = 1_000;

type Values = Readonly<Record<string, unknown>>;
/** What a recipe may read besides the modelled values: the row's unmodelled columns and its source table. */
export interface RowContext {
  extra?: Readonly<Record<string, unknown>> | null;
  sourceTable?: string;
}
type Recipe = (v: Values, row: RowContext) => (string | null)[];

const RECIPES: Readonly<Record<string, Recipe>> = {
  qe_patterns: (v) => [
    str(v['name']),
    str(v['description']),
    str(v['pattern_type']),
    str(v['qe_domain']),
    str(v['domain']) === str(v['qe_domain']) ? null : str(v['domain']),
    str(v['tier']),
    jsonText(v['template'], 400),
    jsonText(v['context'], 200),
  ],
  sona_patterns: (v) => [
    str(v['type']),
    str(v['domain']),
    str(v['action_type']),
    jsonText(v['action_value'], 400, true),
    outcome(v['outcome_success']),
    jsonText(v['metadata'], 200),
  ],
  patterns: (v, row) => [
    jsonText(v['pattern'], 700),
    str(v['domain']),
    str(row.extra?.['description']),
    labelled('when', str(row.extra?.['condition'])),
    labelled('then', str(row.extra?.['action'])),
    jsonText(v['metadata'], 200),
  ],
  memory_entries: (v) => [keyWords(v['key']), str(v['partition']), jsonText(v['value'], 700)],
  kv_entries: (v) => [keyWords(v['key']), str(v['namespace']), jsonText(v['value'], 700)],
  learning_experiences: (v) => [
    str(v['task']),
    str(v['task_type']),
    str(v['domain']),
    labelled('state', jsonText(v['state'], 300, true)),
    labelled('action', jsonText(v['action'], 300, true)),
    labelled('result', jsonText(v['next_state'], 200)),
    labelled('outcome', str(v['outcome'])),
    typeof v['reward'] === 'number' && Number.isFinite(v['reward']) ? `reward ${v['reward'].toFixed(2)}` : null,
    outcome(v['success']),
  ],
  goap_plans: (v) => [str(v['status']), labelled('goal', jsonText(v['goal_state'], 300, true)), labelled('plan', jsonText(v['action_sequence'], 300))],
  events: (v) => [wordsOf(v['type']), str(v['source']), jsonText(v['payload'], 700)],
  trajectories: (v) => [
    str(v['task']),
    str(v['agent']),
    str(v['domain']),
    str(v['state']),
    str(v['action']),
    str(v['outcome']),
    jsonText(v['steps'], 400),
    jsonText(v['metadata'], 200),
  ],
  metrics: (v) => withLabel(wordsOf(v['metric_file']), jsonText(v['data'], 700)),
  source_vectors: (v) => [str(v['text'])],
  source_rows: (v, row) => withLabel(row.sourceTable ? words(row.sourceTable) : null, jsonText(v['row'], 700)),
  claude_flow_memory: (v) => [keyWords(v['key']), str(v['namespace']), jsonText(v['value'], 700)],
  goap_actions: (v) => [
    str(v['name']),
    str(v['description']),
    str(v['category']),
    str(v['agent_type']),
    str(v['qe_domain']),
    labelled('requires', jsonKeys(v['preconditions'])),
    labelled('effects', jsonKeys(v['effects'])),
  ],
  intelligence_memories: (v) => [str(v['content'])],
};

/** Names of the tables that have a recipe (exactly the `embedded` target tables; a test checks). */
export const RECIPE_TABLES: readonly string[] = Object.keys(RECIPES);

/**
 * The search text of a row of `table` (values keyed by its target columns), or null when the
 * table is not embedded or the row has nothing meaningful to say.
 *
 * @example
 * searchTextFor('goap_actions', { name: 'run-unit-tests', description: 'Run the unit suite', preconditions: { hasTests: true } })
 * // → 'run-unit-tests. Run the unit suite. requires: has tests'
 */
export function searchTextFor(table: string, values: Values, row: RowContext = {}): string | null {
  const recipe = RECIPES[table];
  if (!recipe) return null;
  // (a loop, not map/filter with arrows: this runs for every row of a load)
  let text = '';
  for (const part of recipe(values, row)) {
    if (part === null) continue;
    const clean = withoutTrailingPunctuation(normalise(part));
    if (clean !== '') text = text === '' ? clean : `${text}. ${clean}`;
  }
  return finish(text);
}

/** `text` without its trailing run of whitespace and . ; : , (the regex only where the last character is one of them or not ASCII). */
function withoutTrailingPunctuation(text: string): string {
  if (text === '') return text;
  const c = text.charCodeAt(text.length - 1);
  // printable ASCII other than . ; : , cannot end such a run
  if (c > 32 && c < 127 && c !== 46 && c !== 59 && c !== 58 && c !== 44) return text;
  return text.replace(/[\s.;:,]+$/u, '');
}

/** Whether `table` gets embeddings (true exactly for the tables with a recipe). */
export function isEmbeddedTable(table: string): boolean {
  return TARGET_TABLES.some((t) => t.name === table && t.embedded);
}

function finish(text: string): string | null {
  const clean = normalise(text);
  if (!/[\p{L}\p{N}]/u.test(clean)) return null;
  return cut(clean, MAX_SEARCH_TEXT);
}

function normalise(text: string): string {
  if (isNormalised(text)) return text;
  return text
    .replace(/[\p{Cc}\p{Cf}]+/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
}

/**
 * True when {@link normalise} would return `text` unchanged because it is printable ASCII with
 * single inner spaces only (no control, format or other whitespace character, nothing to trim):
 * most text, checked by one loop instead of two regular-expression replacements and a trim.
 */
function isNormalised(text: string): boolean {
  let afterSpace = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32) {
      // a leading space or a second one in a row
      if (afterSpace) return false;
      afterSpace = true;
    } else if (c > 32 && c < 127) afterSpace = false;
    else return false;
  }
  // a trailing space (the empty text is normalised)
  return !afterSpace || text.length === 0;
}

/** At most `max` characters, cut at the last space when one is reasonably close. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const head = text.slice(0, max);
  const space = head.lastIndexOf(' ');
  return (space > max * 0.8 ? head.slice(0, space) : head).trim();
}

/** A scalar as text (strings trimmed; numbers and booleans are not text). */
function str(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const text = normalise(value);
  return text === '' ? null : text;
}

/** `[label, body]` when the body has words, else nothing: a label alone says nothing a person wrote. */
function withLabel(label: string | null, body: string | null): (string | null)[] {
  return body === null ? [] : [label, body];
}

/** An identifier-like string in words (`learning:training` → "learning training"). */
function wordsOf(value: unknown): string | null {
  const text = str(value);
  return text === null ? null : words(text) || null;
}

function labelled(label: string, text: string | null): string | null {
  return text ? `${label}: ${text}` : null;
}

function outcome(value: unknown): string | null {
  if (value === true || value === 1) return 'succeeded';
  if (value === false || value === 0) return 'failed';
  return null;
}

/** A key such as `aqe/patterns/test_gen:42` in words: separators become spaces. */
function keyWords(value: unknown): string | null {
  const text = str(value);
  return text === null ? null : normalise(text.replace(/[/\\:_|#]+/g, ' '));
}

/** JSON from an object/array or from JSON text (double-encoded text is decoded once more). */
function asJson(value: unknown): unknown {
  let current = value;
  for (let i = 0; i < 2 && typeof current === 'string'; i++) {
    const trimmed = current.trim();
    if (!/^[[{"]/.test(trimmed)) break;
    try {
      current = JSON.parse(trimmed);
    } catch {
      break;
    }
  }
  return current;
}

/**
 * The meaningful strings of a JSON value, depth first, keys in sorted order, joined by spaces and
 * cut to `max` characters. With `scalarKeys`, the key of a number/boolean leaf is kept too (in
 * words: `coverageTarget` → "coverage target"), so `{ "coverage": 0.8 }` still says "coverage".
 */
function jsonText(value: unknown, max: number, scalarKeys = false): string | null {
  const state: WalkState = { out: [], length: 0, max, scalarKeys };
  walkJson(state, asJson(value), null, 0);
  const text = normalise(state.out.join(' '));
  return text === '' ? null : cut(text, max);
}

/** What {@link jsonText} collects (a module-level walk, not closures made for every row). */
interface WalkState {
  out: string[];
  length: number;
  max: number;
  scalarKeys: boolean;
}

function pushText(state: WalkState, text: string): void {
  state.out.push(text);
  state.length += text.length + 1;
}

function walkJson(state: WalkState, node: unknown, key: string | null, depth: number): void {
  if (state.length >= state.max || depth > 8) return;
  if (typeof node === 'string') {
    // JSON kept as text inside JSON (a TEXT column holding JSON.stringify output): its strings
    const nested = /^\s*[[{]/.test(node) ? parseJsonQuietly(node) : undefined;
    if (nested !== undefined && nested !== null && typeof nested === 'object') {
      walkJson(state, nested, key, depth + 1);
      return;
    }
    const text = normalise(node);
    if (isMeaningful(text)) pushText(state, text);
  } else if (typeof node === 'number' || typeof node === 'boolean') {
    if (state.scalarKeys && key !== null) pushText(state, words(key));
  } else if (Array.isArray(node)) {
    for (const item of node) walkJson(state, item, key, depth + 1);
  } else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    for (const k of Object.keys(record).sort()) walkJson(state, record[k], k, depth + 1);
  }
}

function parseJsonQuietly(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The keys of a JSON object (in words, sorted), e.g. GOAP preconditions / effects. */
function jsonKeys(value: unknown): string | null {
  const json = asJson(value);
  if (Array.isArray(json)) return jsonText(json, 300, true);
  if (json === null || typeof json !== 'object') return str(json);
  const keys = Object.keys(json as Record<string, unknown>)
    .sort()
    .map(words)
    .filter((k) => k !== '');
  return keys.length === 0 ? null : cut(keys.join(', '), 300);
}

/** An identifier in words: `hasTests` / `has_tests` / `has-tests` → "has tests". */
function words(key: string): string {
  return normalise(
    key
      .replace(/([a-z\d])([A-Z])/g, '$1 $2')
      .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
      .replace(/[_\-.:/]+/g, ' ')
      .toLowerCase(),
  );
}

const UUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;
const HEX_ID = /^(0x)?[\da-f]{16,}$/i;
const ISO_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const NUMBER = /^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?%?$/;

/** False for strings that carry no searchable meaning: ids, hashes, timestamps, numbers, blobs. */
function isMeaningful(text: string): boolean {
  if (!/\p{L}/u.test(text)) return false;
  if (/^(true|false|null|undefined|nan)$/i.test(text)) return false;
  if (UUID.test(text) || HEX_ID.test(text) || ISO_TIME.test(text) || NUMBER.test(text)) return false;
  // One unbroken run this long is base64, an encoded vector or a token, not words.
  if (!text.includes(' ') && text.length > 64) return false;
  return true;
}
