// Generators of manifest bytes and object keys for the fuzz targets: valid manifests, the same with
// a few structural mutations made on the JSON syntax tree (so a member can become 1e400, a
// duplicate, "__proto__", a deep array…), arbitrary JSON, damaged bytes; and bucket keys that are
// valid, almost valid (one character inserted, removed or replaced) or arbitrary.
import fc from 'fast-check';
import { MAX_MANIFEST_BYTES } from '../../schema/snapshot/manifest.js';
import { BLOB_CODECS, blobKey, quarantineReportKey } from '../../schema/snapshot/object-keys.js';
import { SOURCE_FORMATS, SOURCE_KINDS, SOURCE_ROLES } from '../../schema/sources/catalogue.js';
import type { ByteDamage, JsonNode } from './json-arbitraries.js';
import { anyJsonNode, byteDamage, damagedBytes, deepNode, jsonTextOf, memberName, nastyChar, nastyString, sometimes } from './json-arbitraries.js';

export const envName = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,62}$/);
export const snapshotId = fc.ulid();
const sha256 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const isoTime = fc.date({ min: new Date(Date.UTC(2000, 0, 1)), max: new Date(Date.UTC(2099, 11, 31)), noInvalidDate: true }).map((d) => d.toISOString());
const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
const relPath = fc.array(segment, { minLength: 1, maxLength: 4 }).map((a) => a.join('/'));
const sourceId = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,20}$/);

const capturedSource = fc
  .record({
    sourceId,
    kind: fc.constantFrom(...SOURCE_KINDS),
    format: fc.constantFrom(...SOURCE_FORMATS),
    role: fc.constantFrom(...SOURCE_ROLES),
    path: relPath,
    sha256,
    size: fc.nat(),
    storedSize: fc.nat(),
    capturedAt: isoTime,
    modifiedAt: fc.option(isoTime, { nil: undefined }),
    schemaFingerprint: sha256,
    tables: fc.array(fc.record({ name: fc.string({ minLength: 1, maxLength: 20 }), rows: fc.nat() }), { maxLength: 3 }),
  })
  .map((s) => {
    const { modifiedAt, ...rest } = s;
    return { status: 'captured', ...rest, blobKey: blobKey(s.sha256), ...(modifiedAt === undefined ? {} : { modifiedAt }) };
  });

const uncapturedSource = fc.record(
  {
    status: fc.constantFrom('missing', 'failed'),
    sourceId,
    kind: fc.constantFrom(...SOURCE_KINDS),
    format: fc.constantFrom(...SOURCE_FORMATS),
    role: fc.constantFrom(...SOURCE_ROLES),
    path: relPath,
    reason: fc.string({ minLength: 1, maxLength: 40 }),
    code: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: ['status', 'sourceId', 'kind', 'format', 'role', 'path', 'reason'] },
);

/** Format 2: the same source as its chunks (sizes adding up to the file, keys naming sha256 and codec). */
const chunkedSource = fc
  .record({
    source: capturedSource,
    chunks: fc.array(fc.record({ sha256, size: fc.nat({ max: 4 * 1024 * 1024 }), storedSize: fc.nat(), codec: fc.constantFrom(...BLOB_CODECS) }), { minLength: 1, maxLength: 4 }),
  })
  .map(({ source, chunks }) => {
    const { blobKey: _whole, ...rest } = source;
    const list = chunks.map((c) => ({ ...c, blobKey: blobKey(c.sha256, c.codec) }));
    return { ...rest, size: list.reduce((a, c) => a + c.size, 0), storedSize: list.reduce((a, c) => a + c.storedSize, 0), chunks: list };
  });

const header = {
  snapshotId,
  env: envName,
  createdAt: isoTime,
  tool: fc.record({ name: fc.constant('aqe-upload'), version: fc.string({ minLength: 1, maxLength: 10 }) }),
  host: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
};

/** A manifest object the schema accepts (paths unique): format 1 (whole-file blobs) or format 2 (chunks). */
export const validManifest = fc
  .oneof(
    fc.record({ formatVersion: fc.constant(1), ...header, sources: fc.uniqueArray(fc.oneof(capturedSource, uncapturedSource), { maxLength: 4, selector: (s) => s.path }) }),
    fc.record({ formatVersion: fc.constant(2), ...header, sources: fc.uniqueArray(fc.oneof(chunkedSource, uncapturedSource), { maxLength: 4, selector: (s) => s.path }) }),
  )
  .map(({ host, ...m }) => (host === undefined ? m : { ...m, host }));

/** A JSON value as a syntax tree (to mutate it at the syntax level). */
export function nodeOf(value: unknown): JsonNode {
  if (value === null || value === undefined) return { t: 'raw', text: 'null' };
  if (typeof value === 'string') return { t: 'str', s: value };
  if (typeof value === 'number' || typeof value === 'boolean') return { t: 'raw', text: JSON.stringify(value) };
  if (Array.isArray(value)) return { t: 'arr', items: value.map(nodeOf) };
  return { t: 'obj', entries: Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, nodeOf(v)]) };
}

/** One structural change: walk `steps` down the tree, then replace, delete, duplicate or add a member/element. */
export interface TreeMutation {
  steps: number[];
  op: 'replace' | 'delete' | 'duplicate' | 'add';
  name: string;
  value: JsonNode;
}

export const treeMutation: fc.Arbitrary<TreeMutation> = fc.record({
  steps: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
  op: fc.constantFrom('replace', 'delete', 'duplicate', 'add'),
  name: memberName,
  value: fc.oneof({ weight: 8, arbitrary: anyJsonNode }, { weight: 1, arbitrary: deepNode }),
});

/** A copy of `root` with `m` applied. */
export function mutateTree(root: JsonNode, m: TreeMutation): JsonNode {
  const walk = (node: JsonNode, depth: number): JsonNode => {
    const children = node.t === 'arr' ? node.items : node.t === 'obj' ? node.entries.map((e) => e[1]) : null;
    if (children === null) return depth === 0 && m.op === 'replace' ? m.value : node;
    const step = m.steps[depth];
    if (children.length === 0 || step === undefined) {
      if (m.op !== 'add') return node;
      return node.t === 'arr' ? { t: 'arr', items: [...node.items, m.value] } : { t: 'obj', entries: [...(node as { entries: Array<[string, JsonNode]> }).entries, [m.name, m.value]] };
    }
    const i = step % children.length;
    const child = children[i]!;
    const last = depth + 1 >= m.steps.length || (child.t !== 'arr' && child.t !== 'obj');
    const apply = <T>(list: T[], replace: (old: T) => T): T[] => {
      if (!last) return list.map((x, j) => (j === i ? replace(x) : x));
      switch (m.op) {
        case 'delete':
          return list.filter((_, j) => j !== i);
        case 'duplicate':
          return [...list.slice(0, i + 1), list[i]!, ...list.slice(i + 1)];
        default:
          return list.map((x, j) => (j === i ? replace(x) : x));
      }
    };
    if (node.t === 'arr') return { t: 'arr', items: apply(node.items, (x) => (last ? (m.op === 'add' ? walk(x, depth + 1) : m.value) : walk(x, depth + 1))) };
    const entries = (node as { entries: Array<[string, JsonNode]> }).entries;
    return { t: 'obj', entries: apply(entries, ([k, v]) => [k, last ? (m.op === 'add' ? walk(v, depth + 1) : m.value) : walk(v, depth + 1)] as [string, JsonNode]) };
  };
  return walk(root, 0);
}

export type ManifestInput =
  | { kind: 'text'; env: string; snapshotId: string; text: string; asBytes: boolean }
  | { kind: 'bytes'; env: string; snapshotId: string; text: string; damage: ByteDamage }
  | { kind: 'oversize'; env: string; snapshotId: string };

/** Manifest input: a valid manifest with 0–3 mutations, arbitrary JSON, or damaged bytes; plus the key's env and id. */
export const manifestInput: fc.Arbitrary<ManifestInput> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc
      .record({ m: validManifest, mutations: fc.array(treeMutation, { maxLength: 3 }), asBytes: fc.boolean(), keyEnv: sometimes(envName, 8) })
      .map(({ m, mutations, asBytes, keyEnv }) => {
        const tree = mutations.reduce(mutateTree, nodeOf(m));
        return { kind: 'text' as const, env: keyEnv ?? m.env, snapshotId: m.snapshotId, text: jsonTextOf(tree), asBytes };
      }),
  },
  { weight: 2, arbitrary: fc.record({ env: envName, snapshotId, node: anyJsonNode, asBytes: fc.boolean() }).map(({ node, ...r }) => ({ kind: 'text' as const, ...r, text: jsonTextOf(node) })) },
  {
    weight: 2,
    arbitrary: fc.record({ m: validManifest, damage: byteDamage }).map(({ m, damage }) => ({ kind: 'bytes' as const, env: m.env, snapshotId: m.snapshotId, text: JSON.stringify(m), damage })),
  },
  { weight: 1, arbitrary: fc.record({ env: envName, snapshotId }).map((r) => ({ kind: 'oversize' as const, ...r })) },
);

/** The bytes (or text) handed to the parser. */
export function manifestPayload(input: ManifestInput): string | Buffer {
  switch (input.kind) {
    case 'text':
      return input.asBytes ? Buffer.from(input.text, 'utf8') : input.text;
    case 'bytes':
      return damagedBytes(input.text, input.damage);
    case 'oversize':
      return Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20);
  }
}

// ---------------------------------------------------------------------------------------------
// Object keys

const prefix = fc.array(fc.oneof(segment, fc.constantFrom('quarantine', 'snapshots', 'blobs')), { maxLength: 3 }).map((a) => a.join('/'));
const validKeys = fc.oneof(
  fc.record({ prefix, env: envName, id: snapshotId }).map(({ prefix: p, env, id }) => `${p ? `${p}/` : ''}snapshots/${env}/${id}/manifest.json`),
  sha256.map((sha) => blobKey(sha)),
  sha256.map((sha) => blobKey(sha, 'zstd')),
  fc.record({ env: envName, id: snapshotId }).map(({ env, id }) => quarantineReportKey(env, id)),
);

/** A key: valid, valid with up to 3 one-character edits, or arbitrary. */
export const objectKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: validKeys },
  {
    weight: 4,
    arbitrary: fc
      .tuple(validKeys, fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), nastyChar), { minLength: 1, maxLength: 3 }))
      .map(([key, edits]) =>
        edits.reduce((k, [at, op, ch]) => {
          const i = k.length === 0 ? 0 : at % (k.length + (op === 'insert' ? 1 : 0));
          if (op === 'insert') return k.slice(0, i) + ch + k.slice(i);
          if (op === 'delete') return k.slice(0, i) + k.slice(i + 1);
          return k.slice(0, i) + ch + k.slice(i + 1);
        }, key),
      ),
  },
  { weight: 2, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('/', '.', 'snapshots', 'manifest.json', 'a', 'Z', '0', 'quarantine', '-'), maxLength: 12 }) },
);
