// Large JSON sources are read streaming with memory bounded whatever their size, on push and on
// load, and a file read streaming yields exactly the rows it yields parsed whole: across 1 MiB
// chunk boundaries (multi-byte characters cut in two), with a byte-order mark, names given twice,
// `__proto__` members and deep records. Damage is refused as the whole parse refuses it, never
// quoting the file. (The differential fuzz target runs the same comparison on generated documents.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { STREAM_JSON_ABOVE_BYTES } from '../../../functions/loader/read/json-source.js';
import { openStreamedJson } from '../../../functions/loader/read/json-stream.js';
import { readSnapshotSource } from '../../../functions/loader/read/read-snapshot-source.js';
import { openBlobStore } from '../../../functions/storage/open-blob-store.js';
import { isAppError } from '../../../schema/errors.js';
import type { SourceFormat } from '../../../schema/sources/catalogue.js';
import { canonicalJson } from '../../../schema/sources/mappings/row-identity.js';
import { mapContext } from '../../../schema/sources/mappings/map-context.js';
import { loadConfig } from '../../../uploader/config.js';
import { runPush } from '../../../uploader/push/run-push.js';
import { tempDir } from '../../e2e/support/e2e-fixtures.js';
import { openTestPglite } from '../../support/postgres.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir('aqe-json-stream-');
});
afterAll(async () => {
  await tmp?.remove();
});

async function rows(file: string, path: string, format: SourceFormat, streamAbove?: number): Promise<Map<string, string>> {
  const r = readSnapshotSource({ sourceId: 's', path, format }, file, streamAbove === undefined ? {} : { streamJsonAboveBytes: streamAbove });
  try {
    const out = new Map<string, string>();
    for (const t of r.targetTables()) for await (const row of r.rows(t)) out.set(`${row.table}/${row.sourceTable}/${row.sourceKey}`, canonicalJson({ h: row.contentHash, u: row.sourceUpdatedAt ?? null, v: row.values, e: row.extra ?? null }));
    return out;
  } finally {
    r.close();
  }
}

const words = ['flaky', 'retry', 'ünïcödé', '测试重试', 'émoji 🧪🔁', 'plain'];

describe('a JSON file read streaming', () => {
  it('yields the same rows as parsed whole, across chunk boundaries, a BOM, repeated names and __proto__', async () => {
    const entries: string[] = [];
    for (let i = 0; i < 20_000; i++) entries.push(`${JSON.stringify(`k${i % 19_500}`)}: ${JSON.stringify({ key: `k${i}`, value: { text: words[i % words.length]!.repeat(1 + (i % 7)), n: i }, storedAt: 1_735_689_600_000 + i })}`);
    entries.push('"__proto__": {"key": "proto", "value": {"__proto__": {"x": 1}}}');
    const store = `\ufeff{"version": "3.0.0", "entries": {${entries.join(',\n')}}, "extra": [1, "two", {"三": 3}], "n": 1e300}`;
    const file = join(tmp.dir, 'store.json');
    writeFileSync(file, store);
    expect(Buffer.byteLength(store)).toBeGreaterThan(2 * 1024 * 1024);
    const whole = await rows(file, '.claude-flow/memory/store.json', 'claude-flow-store');
    const streamed = await rows(file, '.claude-flow/memory/store.json', 'claude-flow-store', 0);
    expect(whole.size).toBe(19_500 + 1 + 1 + 3 + 1);
    expect(streamed).toEqual(whole);

    const memories = Array.from({ length: 6_000 }, (_, i) => ({ id: i % 10 === 0 ? undefined : `m${i}`, content: words[i % words.length]!.repeat(20), embedding: Array.from({ length: 64 }, (_, j) => Math.sin(i + j)), timestamp: 1_700_000_000 + i }));
    const intel = JSON.stringify({ patterns: { 'a|b': { q_value: 0.5, visits: 3 } }, memories: [...memories, memories[0], memories[0]], trajectories: [], stats: { total: 1 } });
    const ifile = join(tmp.dir, 'intelligence.json');
    writeFileSync(ifile, intel);
    const iwhole = await rows(ifile, 'v3/.ruvector/intelligence.json', 'ruvector-intelligence');
    expect(await rows(ifile, 'v3/.ruvector/intelligence.json', 'ruvector-intelligence', 0)).toEqual(iwhole);
    expect(iwhole.size).toBeGreaterThan(6_000);
  });

  it('refuses damage as the whole parse does, naming the file and never quoting it', async () => {
    const big = (tail: string) => `{"memories": [${Array.from({ length: 30_000 }, (_, i) => JSON.stringify({ id: `m${i}`, content: 'x'.repeat(40) })).join(',')}${tail}`;
    const cases: Array<[string, string | Buffer, RegExp]> = [
      ['truncated.json', big(''), /expected valid JSON, got a document that ends before it is complete/],
      ['garbage.json', big(', secret-root-hash]}'), /expected valid JSON, got an unexpected character at byte \d+/],
      ['deep.json', `{"x": ${'['.repeat(300)}${']'.repeat(300)}}`, /nested at most 256 levels deep, got 257 levels/],
      ['utf8.json', Buffer.concat([Buffer.from(big('')), Buffer.from([0x2c, 0x22, 0xff, 0x22, 0x5d, 0x7d])]), /not valid UTF-8 \(at or after byte \d+\)/],
    ];
    for (const [name, content, reason] of cases) {
      const file = join(tmp.dir, name);
      writeFileSync(file, content);
      const err = await rows(file, 'v3/.ruvector/intelligence.json', 'ruvector-intelligence', 0).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isAppError(err, 'PARSE_FAILED'), `${name}: ${String(err)}`).toBe(true);
      expect((err as Error).message).toMatch(/^v3\/\.ruvector\/intelligence\.json: /);
      expect((err as Error).message).toMatch(reason);
      expect((err as Error).message).not.toMatch(/secret|root-hash/);
    }
    // a record beyond the limit is refused before it is held
    const file = join(tmp.dir, 'record.json');
    writeFileSync(file, `{"memories": [{"id": "m1", "content": "${'y'.repeat(3_000_000)}"}]}`);
    expect(() => openStreamedJson(file, mapContext('v3/.ruvector/intelligence.json'), { maxRecordBytes: 1_000_000 })).toThrow(/table "memories", row "0".*expected a record of at most 1000000 bytes/);
  });
});

describe(`a JSON source above ${STREAM_JSON_ABOVE_BYTES / 1024 / 1024} MiB`, () => {
  it('is pushed and loaded streaming: every record counted in the manifest and loaded', async () => {
    const ws = join(tmp.dir, 'ws');
    mkdirSync(join(ws, 'v3/.ruvector'), { recursive: true });
    // few, long records: the point is the file's size, not the row count
    const n = 6_000;
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(JSON.stringify({ id: `m${i}`, memory_type: 'episodic', content: `memory ${i} about ${words[i % words.length]} `.repeat(260), timestamp: 1_700_000_000 + i }));
    const text = `{"memories": [${parts.join(',')}], "patterns": {"s|a": {"q_value": 0.5}}, "stats": {"total": ${n}}}`;
    writeFileSync(join(ws, 'v3/.ruvector/intelligence.json'), text);
    expect(Buffer.byteLength(text)).toBeGreaterThan(STREAM_JSON_ABOVE_BYTES);
    const bucket = `file://${join(tmp.dir, 'bucket')}`;
    const store = await openBlobStore(bucket);
    const config = loadConfig({ flags: { bucket, env: 'laptop' }, env: {}, workspace: ws, configText: null });
    const pushed = await runPush({ config, store });
    const entry = pushed.manifest.sources.find((s) => s.path === 'v3/.ruvector/intelligence.json');
    expect(entry).toMatchObject({ status: 'captured', tables: [{ name: 'memories', rows: n }, { name: 'patterns', rows: 1 }] });
    const db = await openTestPglite();
    try {
      const out = await loadSnapshot({ store, db }, pushed.manifestKey!);
      expect(out.status).toBe('loaded');
      const count = await db.query<{ n: string }>(`SELECT count(*) AS n FROM aqe.intelligence_memories WHERE source_env = 'laptop' AND missing_since IS NULL`);
      expect(Number(count.rows[0]?.n)).toBe(n);
    } finally {
      await db.close();
    }
  });
});
