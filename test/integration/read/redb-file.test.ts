// The redb reader parses @ruvector/core's VectorDb file itself (redb 2.x B-trees): every vector of a
// store the real binding wrote, exactly, in the same order on every read (the index search it
// replaces missed about one vector in ten); a damaged file is an incomplete read, never a
// complete one that lacks vectors.
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshotSource } from '../../../functions/loader/read/read-snapshot-source.js';
import { decodeBincodeF32Vec, RedbFile } from '../../../functions/loader/read/redb-file.js';
import { collectRows } from '../../../functions/loader/read/source-read-result.js';
import { ruvectorEntries, type RuvectorEntry, writeRuvectorStore } from '../../support/real-formats.js';

const LABEL = 'v2/data/ruvector-patterns.db';
const read = async (file: string) => {
  const result = readSnapshotSource({ sourceId: 'ruvector-patterns', path: LABEL, format: 'ruvector-redb' }, file);
  try {
    const rows = (await collectRows(result)).get('source_vectors') ?? [];
    return { rows, complete: result.parts.every((p) => p.complete()), warnings: result.warnings.map((w) => w.message) };
  } finally {
    result.close();
  }
};

describe('redb VectorDb files', () => {
  let dir: string;
  let file: string;
  let entries: RuvectorEntry[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aqe-redb-'));
    file = join(dir, 'ruvector-patterns.db');
    // enough vectors for a multi-level B-tree (~1.5 KB each, 4 KiB pages)
    entries = ruvectorEntries(600);
    await writeRuvectorStore(file, entries);
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('enumerates every table and every vector the binding wrote, exactly', () => {
    const redb = RedbFile.open(file);
    try {
      const tables = redb.tables();
      expect([...tables.keys()].sort()).toEqual(['config', 'metadata', 'vectors']);
      expect(tables.get('vectors')?.length).toBe(BigInt(entries.length));
      const got = new Map([...redb.entries('vectors')].map(([k, v]) => [k.toString('utf8'), decodeBincodeF32Vec(v)]));
      expect(got.size).toBe(entries.length);
      for (const e of entries) expect(got.get(e.id), e.id).toEqual(Array.from(Float32Array.from(e.vector)));
    } finally {
      redb.close();
    }
  });

  it('reads the same complete rows 100 times in a row, metadata and config included', async () => {
    const first = await read(file);
    expect(first.complete).toBe(true);
    expect(first.warnings).toEqual([]);
    expect(first.rows.map((r) => r.sourceKey).sort()).toEqual(entries.map((e) => `vectors:${e.id}`).sort());
    const withMeta = first.rows.find((r) => r.sourceKey === `vectors:${entries[0]!.id}`)!;
    expect(withMeta.values).toMatchObject({ owner_key: entries[0]!.id, dimension: 384, metadata: JSON.parse(entries[0]!.metadata!) });
    expect(withMeta.extra).toEqual({ distance_metric: 'Cosine' });
    const expected = first.rows.map((r) => `${r.sourceKey} ${r.contentHash}`);
    for (let i = 0; i < 100; i++) {
      const again = await read(file);
      expect(again.complete).toBe(true);
      expect(again.rows.map((r) => `${r.sourceKey} ${r.contentHash}`)).toEqual(expected);
    }
  }, 120_000);

  it('reports a damaged file as an incomplete read, keeping the vectors it could read', async () => {
    const cut = join(dir, 'cut.db');
    writeFileSync(cut, readFileSync(file));
    truncateSync(cut, Math.floor(readFileSync(file).length * 0.6));
    const r = await read(cut);
    expect(r.complete).toBe(false);
    expect(r.rows.length).toBeLessThan(entries.length);
    expect(r.warnings.join('\n')).toMatch(/ruvector-patterns\.db: incomplete read \(what was read is kept, no vector is marked missing\): not a readable redb 2\.x file \(page .* lies beyond the end of the file/);
  });

  it('reports a vector that does not decode as an incomplete read (the others are kept)', async () => {
    const bad = join(dir, 'bad-vector.db');
    const bytes = readFileSync(file);
    // the first vector's bytes, with one float turned into NaN
    const probe = Buffer.from(new Float32Array(entries[3]!.vector).buffer);
    const at = bytes.indexOf(probe.subarray(0, 16));
    expect(at).toBeGreaterThan(0);
    bytes.writeUInt32LE(0x7fc00000, at);
    writeFileSync(bad, bytes);
    const r = await read(bad);
    expect(r.complete).toBe(false);
    expect(r.rows).toHaveLength(entries.length - 1);
    expect(r.warnings.join('\n')).toContain(`vector "${entries[3]!.id}" is not 384 finite Float32 values`);
  });
});
