// Generators of files handed to the redb reader: random bytes, the redb magic over random bytes,
// the magic plus a hostile `__ruvector_db_config__` JSON, and a real @ruvector/core VectorDb file
// (written once per run by a child process) with flipped bytes or cut short.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import fc from 'fast-check';
import { anyJsonNode, jsonTextOf, nastyString } from './json-arbitraries.js';

const REDB_MAGIC = Buffer.from([0x72, 0x65, 0x64, 0x62, 0x1a, 0x0a, 0xa9, 0x0d, 0x0a]);
const CONFIG_MARKER = Buffer.from('__ruvector_db_config__', 'latin1');

export type RedbInput =
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'magic'; tail: Uint8Array }
  | { kind: 'config'; head: Uint8Array; config: string; tail: Uint8Array }
  | { kind: 'real'; flips: Array<[number, number]>; keep: number | null };

/**
 * A config the reader may accept. Dimensions stay at most 2,048: the reader's child allocates
 * ~274 query vectors of that many floats, so a file claiming millions would only measure this
 * machine's memory (reported as a finding, not fuzzed).
 */
const configText: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({
      dimensions: fc.oneof(fc.integer({ min: 1, max: 2_048 }), fc.constantFrom(0, -1, 1.5, '4', null, true)),
      distance_metric: fc.oneof(fc.constantFrom('Cosine', 'Euclidean', 'DotProduct'), nastyString),
      hnsw_config: fc.oneof(fc.constant(null), fc.record({ m: fc.integer({ min: 0, max: 64 }), ef_construction: fc.integer({ min: 0, max: 400 }) })),
    })
    .map((c) => JSON.stringify(c)),
  anyJsonNode.map(jsonTextOf),
  fc.constantFrom('{"dimensions":4', '{"dimensions":4}}', '{"dimensions":"\\"}', '{'),
);

export const redbInput: fc.Arbitrary<RedbInput> = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ kind: 'random' as const, bytes })) },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 256 }).map((tail) => ({ kind: 'magic' as const, tail })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ head: fc.uint8Array({ maxLength: 32 }), config: configText, tail: fc.uint8Array({ maxLength: 64 }) })
      .map((c) => ({ kind: 'config' as const, ...c })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({
        flips: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 255 })), { maxLength: 16 }),
        keep: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
      })
      .map((r) => ({ kind: 'real' as const, ...r })),
  },
);

/** The bytes of a redb input; `template` is a real VectorDb file. */
export function redbBytes(input: RedbInput, template: Buffer): Buffer {
  switch (input.kind) {
    case 'random':
      return Buffer.from(input.bytes);
    case 'magic':
      return Buffer.concat([REDB_MAGIC, Buffer.from(input.tail)]);
    case 'config':
      return Buffer.concat([REDB_MAGIC, Buffer.from(input.head), CONFIG_MARKER, Buffer.from(input.config, 'utf8'), Buffer.from(input.tail)]);
    case 'real': {
      // flips land in the first 64 KiB (headers, the config and the data pages) or anywhere
      const out = Buffer.from(template);
      for (const [at, byte] of input.flips) out[Math.floor(at * Math.min(out.length, at < 0.5 ? 65_536 : out.length))] = byte;
      return input.keep === null ? out : out.subarray(0, Math.floor(out.length * input.keep));
    }
  }
}

/** Whether the reader will start its @ruvector/core child for this input (the costly cases). */
export function spawnsChild(input: RedbInput): boolean {
  return input.kind === 'config' || input.kind === 'real';
}

const WRITER = `
const { VectorDb } = require(process.argv[1]);
(async () => {
  const db = new VectorDb({ dimensions: 4, storagePath: process.argv[2], distanceMetric: 'Cosine' });
  await db.insertBatch([
    { id: 'v1', vector: Float32Array.from([1, 0, 0, 0]), metadata: JSON.stringify({ type: 'unit', n: 1 }) },
    { id: 'v2', vector: Float32Array.from([0, 1, 0.5, 0]) },
    { id: 'v\\u0000"3', vector: Float32Array.from([0.25, -1, 0, 2]), metadata: '{"nested":{"a":[1,2]}}' },
  ]);
  process.exit(0);
})().catch((err) => { process.stderr.write(String(err && err.stack || err)); process.exit(1); });
`;

/** Writes a small real VectorDb (redb) file into `dir` with @ruvector/core (in a child: the binding locks the file and has no close) and returns its bytes. */
export async function makeRedbTemplate(dir: string): Promise<Buffer> {
  const file = join(dir, 'template-redb.db');
  const corePath = createRequire(import.meta.url).resolve('@ruvector/core');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', WRITER, corePath, file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`@ruvector/core could not write the redb template (exit ${code}): ${err.trim()}`))));
  });
  return readFileSync(file);
}
