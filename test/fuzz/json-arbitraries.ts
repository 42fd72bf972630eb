// Generators of hostile JSON for the fuzz targets: a small JSON syntax tree serialised by hand, so
// documents can hold what JSON.stringify never writes (numbers beyond the double range, "-0",
// 40-digit integers, duplicate and "__proto__" members, NUL and lone-surrogate escapes, nesting far
// past the reader's limit), plus documents shaped like each JSON source the loader maps, whose
// known members hold plausible or arbitrary values.
import fc from 'fast-check';
import type { SourceFormat } from '../../schema/sources/catalogue.js';

/** A JSON syntax tree; `raw` is literal text (null, true, false, any number text). */
export type JsonNode =
  | { t: 'raw'; text: string }
  | { t: 'str'; s: string }
  | { t: 'arr'; items: JsonNode[] }
  | { t: 'obj'; entries: Array<[string, JsonNode]> }
  /** `inner` wrapped in `depth` arrays or single-member objects (deep nesting without a deep tree). */
  | { t: 'deep'; depth: number; inObject: boolean; inner: JsonNode };

/** The JSON text of a tree (valid JSON; its numbers may be beyond what a double holds). */
export function jsonTextOf(node: JsonNode): string {
  switch (node.t) {
    case 'raw':
      return node.text;
    case 'str':
      return JSON.stringify(node.s);
    case 'arr':
      return `[${node.items.map(jsonTextOf).join(',')}]`;
    case 'obj':
      return `{${node.entries.map(([k, v]) => `${JSON.stringify(k)}:${jsonTextOf(v)}`).join(',')}}`;
    case 'deep': {
      const inner = jsonTextOf(node.inner);
      return node.inObject ? `${'{"d":'.repeat(node.depth)}${inner}${'}'.repeat(node.depth)}` : `${'['.repeat(node.depth)}${inner}${']'.repeat(node.depth)}`;
    }
  }
}

/** The tree as the value JSON.parse makes of its text (members named "__proto__" stay own members). */
export function jsonValueOf(node: JsonNode): unknown {
  return JSON.parse(jsonTextOf(node)) as unknown;
}

const raw = (text: string): JsonNode => ({ t: 'raw', text });
const str = (s: string): JsonNode => ({ t: 'str', s });
const arr = (items: JsonNode[]): JsonNode => ({ t: 'arr', items });
const obj = (entries: Array<[string, JsonNode]>): JsonNode => ({ t: 'obj', entries });

/** `arbitrary` in one case out of `outOf`, else null. */
export function sometimes<T>(arbitrary: fc.Arbitrary<T>, outOf: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: outOf - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });
}

// ---------------------------------------------------------------------------------------------
// Scalars

/** One UTF-16 unit that is not half of a pair. */
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));

/** Characters that break naive code: NUL, controls, quotes, backslash, separators, BOM, astral, lone surrogates. */
export const nastyChar = fc.oneof(
  fc.constantFrom('\u0000', '\t', '\n', '\r', '\b', '\u001f', '\\', '"', "'", '\u2028', '\u2029', '\ufeff', '\ufffd', '\u{1f600}', '\u0301', '|', '#', ':', '/', '.', ' '),
  loneSurrogate,
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
);

/** Identifiers, SQL and JSON look-alikes, and the member names code treats specially. */
const SPECIAL_WORDS = [
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', '$raw', '$base64', '$bytes', 'null', 'undefined',
  "'; DROP TABLE aqe.events; --", 'x"); DELETE FROM aqe.sync_runs; --', 'a|b', '|', 'state|action', '#2', 'h:0', 'a#2', '{"a":1}', '[1,2]', '1e400',
];

/** Timestamps in every encoding the sources use, plausible or not. */
export const timestampNode: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.integer({ min: Date.UTC(1999, 0, 1), max: Date.UTC(2101, 0, 1) }).map((n) => raw(String(n))),
  fc.integer({ min: Date.UTC(1999, 0, 1) / 1000, max: Date.UTC(2101, 0, 1) / 1000 }).map((n) => raw(String(n))),
  fc.date({ min: new Date(Date.UTC(-2000, 0, 1)), max: new Date(Date.UTC(12000, 0, 1)), noInvalidDate: true }).map((d) => str(d.toISOString())),
  fc.date({ min: new Date(Date.UTC(1990, 0, 1)), max: new Date(Date.UTC(2110, 0, 1)), noInvalidDate: true }).map((d) => str(d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ''))),
  fc.constantFrom('2025-02-30T00:00:00Z', '2025-01-06T24:00:00Z', '2025-01-06T10:00+05:30', '+051234-01-01T00:00:00.000Z', 'yesterday', '1736121600000', '0', '-1', '1e400', '2025-13-01 00:00:00').map((s) =>
    s === '1e400' ? raw(s) : str(s),
  ),
);

/** Number texts, including what a double cannot hold. */
export const numberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? '-0' : String(d))),
  fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String),
  fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '0.0', '4.9e-324', '1.7976931348623157e308', '1.8e308', '3.5e38', '1e-46', '123456789012345678901234567890', '1E+2', '-0.0e-0', '9007199254740993'),
);

/** Strings: arbitrary code points, nasty characters, JSON inside strings, timestamps, long text. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 3, arbitrary: fc.string({ unit: nastyChar, maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom(...SPECIAL_WORDS) },
  { weight: 1, arbitrary: fc.integer({ min: -2, max: 3 }).map(String) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', 'x ', '\u00e9', '\u0000'), fc.integer({ min: 200, max: 5_000 })).map(([s, n]) => s.repeat(n)) },
);

/** Member names: the special ones, the mappings' own member names, and arbitrary strings. */
export const memberName: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: nastyString },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'id', 'key', 'value', 'namespace', 'metadata', 'timestamp', 'storedAt', 'lastAccessed', 'accessCount', 'entries', 'workers', 'memories',
      'trajectories', 'patterns', 'stats', 'embedding', 'content', 'memory_type', 'state', 'action', 'q_value', 'visits', 'last_update',
      'reward', 'success', 'outcome', 'runCount', 'isRunning', 'lastRun', 'nextRun', 'lastUpdated', 'version',
    ),
  },
);

/** Any JSON tree (bounded size), leaves from the scalar generators above. */
export const anyJsonNode: fc.Arbitrary<JsonNode> = fc.letrec<{ node: JsonNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 4, arbitrary: fc.constantFrom('null', 'true', 'false').map(raw) },
    { weight: 4, arbitrary: numberText.map(raw) },
    { weight: 5, arbitrary: nastyString.map(str) },
    { weight: 2, arbitrary: timestampNode },
    { weight: 2, arbitrary: fc.array(tie('node'), { maxLength: 5 }).map(arr) },
    { weight: 2, arbitrary: fc.array(fc.tuple(memberName, tie('node')), { maxLength: 5 }).map(obj) },
  ),
})).node;

/** Nesting around the reader's limit (256): some documents pass, some are refused. */
export const deepNode: fc.Arbitrary<JsonNode> = fc.record({
  depth: fc.oneof(fc.integer({ min: 200, max: 270 }), fc.constant(255), fc.constant(256), fc.integer({ min: 1_000, max: 20_000 })),
  inObject: fc.boolean(),
  inner: anyJsonNode,
}).map((d) => ({ t: 'deep' as const, ...d }));

// ---------------------------------------------------------------------------------------------
// Shaped documents: the layouts the JSON mappings know, with hostile values in them

type Shape = Record<string, fc.Arbitrary<JsonNode>>;

/** An object with any subset of the `shape` members (plausible or arbitrary values) plus arbitrary extra members, in random order. */
function shaped(shape: Shape): fc.Arbitrary<JsonNode> {
  const members = Object.entries(shape).map(([k, a]) => fc.option(fc.tuple(fc.constant(k), fc.oneof({ weight: 3, arbitrary: a }, { weight: 1, arbitrary: anyJsonNode })), { nil: null }));
  return fc
    .tuple(fc.tuple(...members), fc.array(fc.tuple(memberName, anyJsonNode), { maxLength: 2 }), fc.boolean())
    .map(([known, extra, reverse]) => {
      const entries = [...known.filter((e): e is [string, JsonNode] => e !== null), ...extra];
      return obj(reverse ? entries.reverse() : entries);
    });
}

const num = numberText.map(raw);
const text = nastyString.map(str);
const bool = fc.constantFrom('true', 'false', '0', '1').map(raw);
const jsonString = anyJsonNode.map((n) => str(jsonTextOf(n)));
/** Embedding arrays: short, 64-d, 384-d, with out-of-range and non-number elements. */
const vectorNode: fc.Arbitrary<JsonNode> = fc.oneof(
  fc.array(numberText.map(raw), { maxLength: 6 }).map(arr),
  fc.tuple(fc.constantFrom(64, 384), fc.double({ min: -1, max: 1, noNaN: true })).map(([n, x]) => arr(Array.from({ length: n }, (_, i) => raw(String(x * ((i % 7) - 3)))))),
  fc.array(fc.oneof(numberText.map(raw), text, fc.constant(raw('null'))), { maxLength: 4 }).map(arr),
  jsonString,
);
/** An object whose members are records of `shape`, keyed by arbitrary or special names. */
const keyedRecords = (shape: Shape, key: fc.Arbitrary<string> = memberName) =>
  fc.array(fc.tuple(key, fc.oneof({ weight: 4, arbitrary: shaped(shape) }, { weight: 1, arbitrary: anyJsonNode })), { maxLength: 5 }).map(obj);
const records = (shape: Shape) => fc.array(fc.oneof({ weight: 4, arbitrary: shaped(shape) }, { weight: 1, arbitrary: anyJsonNode }), { maxLength: 5 }).map(arr);

const STORE_V3 = shaped({
  version: text,
  entries: keyedRecords({ key: text, namespace: text, value: anyJsonNode, metadata: anyJsonNode, accessCount: num, storedAt: timestampNode, lastAccessed: timestampNode }),
});
const STORE_V2 = fc
  .array(fc.tuple(memberName, records({ key: fc.oneof(text, num), namespace: text, value: jsonString, metadata: jsonString, accessCount: num, timestamp: timestampNode, storedAt: timestampNode })), { maxLength: 3 })
  .map(obj);
const DAEMON = shaped({
  running: bool,
  workers: keyedRecords({ runCount: num, successCount: num, failureCount: num, averageDurationMs: num, isRunning: bool, lastRun: timestampNode, nextRun: timestampNode }),
  config: anyJsonNode,
  savedAt: timestampNode,
});
const METRIC = shaped({ timestamp: timestampNode, lastUpdated: timestampNode, updatedAt: timestampNode, value: num, name: text });
const METRICS = fc.oneof(METRIC, fc.array(METRIC, { maxLength: 5 }).map(arr));
const INTELLIGENCE = shaped({
  patterns: keyedRecords({ state: text, action: text, q_value: num, visits: num, last_update: timestampNode }, fc.oneof(memberName, fc.tuple(nastyString, nastyString).map(([s, a]) => `${s}|${a}`))),
  memories: records({ id: fc.oneof(text, num), memory_type: text, content: text, embedding: vectorNode, metadata: anyJsonNode, timestamp: timestampNode }),
  trajectories: records({ id: fc.oneof(text, num), state: text, action: text, outcome: text, reward: num, success: bool, metadata: anyJsonNode, timestamp: timestampNode }),
  stats: anyJsonNode,
});

/** The JSON formats the loader maps (every format but SQLite and the redb file). */
export const JSON_FORMATS: readonly SourceFormat[] = ['claude-flow-store', 'claude-flow-daemon', 'claude-flow-metrics', 'ruvector-intelligence', 'ruvector-redb-meta', 'json'];

/** A document for `format`: mostly shaped like that source, sometimes any JSON. */
export function documentFor(format: SourceFormat): fc.Arbitrary<JsonNode> {
  const any = fc.oneof({ weight: 3, arbitrary: anyJsonNode }, { weight: 1, arbitrary: deepNode });
  switch (format) {
    case 'claude-flow-store':
      return fc.oneof({ weight: 3, arbitrary: STORE_V3 }, { weight: 2, arbitrary: STORE_V2 }, { weight: 1, arbitrary: any });
    case 'claude-flow-daemon':
      return fc.oneof({ weight: 3, arbitrary: DAEMON }, { weight: 1, arbitrary: any });
    case 'claude-flow-metrics':
      return fc.oneof({ weight: 3, arbitrary: METRICS }, { weight: 1, arbitrary: any });
    case 'ruvector-intelligence':
      return fc.oneof({ weight: 3, arbitrary: INTELLIGENCE }, { weight: 1, arbitrary: any });
    default:
      return fc.oneof({ weight: 1, arbitrary: INTELLIGENCE }, { weight: 1, arbitrary: STORE_V3 }, { weight: 3, arbitrary: any });
  }
}

/** A JSON format and a document shaped for it (or for another format). */
export const formatAndDocument: fc.Arbitrary<{ format: SourceFormat; doc: JsonNode }> = fc
  .constantFrom(...JSON_FORMATS)
  .chain((format) => documentFor(format).map((doc) => ({ format, doc })));

// ---------------------------------------------------------------------------------------------
// Bytes of a JSON file

/** How the bytes of a JSON file are damaged (or not). */
export type ByteDamage =
  | { kind: 'none' }
  | { kind: 'bom' }
  | { kind: 'truncate'; at: number }
  | { kind: 'invalid-utf8'; at: number; bytes: number[] }
  | { kind: 'trailing'; text: string }
  | { kind: 'random'; bytes: Uint8Array };

export const byteDamage: fc.Arbitrary<ByteDamage> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<ByteDamage>({ kind: 'none' }) },
  { weight: 1, arbitrary: fc.constant<ByteDamage>({ kind: 'bom' }) },
  { weight: 1, arbitrary: fc.double({ min: 0, max: 1, noNaN: true }).map((at) => ({ kind: 'truncate' as const, at })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.oneof(fc.constantFrom<number[]>([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xc0, 0xaf], [0xe2, 0x82]), fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 4 })))
      .map(([at, bytes]) => ({ kind: 'invalid-utf8' as const, at, bytes })),
  },
  { weight: 1, arbitrary: fc.constantFrom(' x', '}', ',', '\u0000', '// comment', ' {}').map((text) => ({ kind: 'trailing' as const, text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'random' as const, bytes })) },
);

/** `text` as UTF-8 bytes, damaged as `damage` says. */
export function damagedBytes(text: string, damage: ByteDamage): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  switch (damage.kind) {
    case 'none':
      return bytes;
    case 'bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes]);
    case 'truncate':
      return bytes.subarray(0, Math.floor(bytes.length * damage.at));
    case 'invalid-utf8': {
      const at = Math.floor(bytes.length * damage.at);
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(damage.bytes), bytes.subarray(at)]);
    }
    case 'trailing':
      return Buffer.concat([bytes, Buffer.from(damage.text, 'utf8')]);
    case 'random':
      return Buffer.from(damage.bytes);
  }
}
