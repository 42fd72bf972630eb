// Hostile snapshots written straight into a bucket (blobs + manifest, no uploader in between):
// each is quarantined with a clear error (outcome, report object in the bucket, a row in
// aqe.quarantine), writes nothing to any target table even when a good source precedes the bad
// one, and its redelivery is acknowledged. SQL-looking keys and values load verbatim.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgDatabase } from '../../../functions/db/pg-database.js';
import { loadSnapshot } from '../../../functions/loader/load-snapshot.js';
import { LocalDirBlobStore } from '../../../functions/storage/local-dir-blob-store.js';
import type { ErrorCode } from '../../../schema/errors.js';
import { quarantineManifestKey, quarantineReportKey } from '../../../schema/snapshot/object-keys.js';
import { createTestDatabase, type TestDatabase } from '../../support/postgres.js';
import { float32Blob } from '../../support/workspace-builder.js';
import { type HandSource, snapshotIdFor, targetTableTotals, tempDir, writeSnapshot } from '../../e2e/support/e2e-fixtures.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let tdb: TestDatabase;
let db: PgDatabase;
let store: LocalDirBlobStore;
let next = 0;

beforeAll(async () => {
  tmp = await tempDir('aqe-hostile-load-');
  tdb = await createTestDatabase('hostile');
  db = new PgDatabase(tdb.url);
  store = new LocalDirBlobStore(join(tmp.dir, 'bucket'));
});
afterAll(async () => {
  await db?.close();
  await tdb?.drop();
  await tmp?.remove();
});

/** A SQLite file built by `sql` + `fill`, as bytes. */
function sqliteBytes(sql: string, fill?: (d: Database.Database) => void): Buffer {
  const file = join(tmp.dir, `db-${++next}.sqlite`);
  const d = new Database(file);
  d.exec(sql);
  fill?.(d);
  d.close();
  return readFileSync(file);
}

/** A valid source that comes first in every hostile snapshot: its rows must not survive. */
const GOOD: HandSource = {
  path: '.claude-flow/memory/store.json',
  sourceId: 'claude-flow-store',
  format: 'claude-flow-store',
  bytes: Buffer.from(JSON.stringify({ version: '3.0.0', entries: { a: { key: 'a', value: 1 }, b: { key: 'b', value: 'two' }, c: { key: 'c', value: { x: 3 } } } })),
};

const intelligence = (text: string | Buffer): HandSource => ({
  path: 'v3/.ruvector/intelligence.json',
  sourceId: 'ruvector-intelligence',
  format: 'ruvector-intelligence',
  bytes: Buffer.isBuffer(text) ? text : Buffer.from(text),
});
const v3 = (bytes: Buffer): HandSource => ({ path: 'v3/.agentic-qe/memory.db', sourceId: 'v3-memory', format: 'sqlite', kind: 'sqlite', role: 'PRIMARY', bytes });

interface HostileCase {
  name: string;
  code: ErrorCode;
  reason: RegExp;
  /** Manifest environment (default 'hostile'); the key's environment may differ. */
  env?: string;
  keyEnv?: string;
  sources: () => HandSource[];
  raw?: (m: Record<string, unknown>) => unknown;
}

/** An intelligence.json of ~24 KB (many chunks at hand-made chunk sizes). */
const bigIntelligence = () => Buffer.from(JSON.stringify({ memories: Array.from({ length: 200 }, (_, i) => ({ id: `m${i}`, content: `memory ${i} `.repeat(10) })) }));

const source1 = (m: Record<string, unknown>) => (m['sources'] as Array<Record<string, unknown>>)[1]!;

const CASES: HostileCase[] = [
  {
    name: 'a blob whose content does not match its sha256',
    code: 'CHECKSUM_MISMATCH',
    reason: /v3\/\.ruvector\/intelligence\.json: chunk 1 of 1 \(blob blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.gz, expected sha256 [0-9a-f]{64}, \d+ bytes\): got sha256 [0-9a-f]{64}\. The blob does not match its snapshot/,
    // the blob holds other content than the sha256 (and blob key) the manifest names
    sources: () => [GOOD, { ...intelligence('{"memories":[]}'), sha256: createHash('sha256').update('{"memories":[1]}').digest('hex') }],
  },
  {
    name: 'a truncated gzip blob',
    code: 'BLOB_CORRUPT',
    reason: /expected a complete gzip stream, got a truncated one/,
    sources: () => {
      const bytes = Buffer.from(JSON.stringify({ memories: Array.from({ length: 200 }, (_, i) => ({ id: `m${i}`, content: `memory ${i} `.repeat(20) })) }));
      const gz = gzipSync(bytes);
      return [GOOD, { ...intelligence(bytes), storedBytes: gz.subarray(0, Math.floor(gz.length / 2)) }];
    },
  },
  // format 2 (chunked): one damaged chunk among several quarantines the snapshot and says which
  {
    name: 'a chunked file whose third chunk holds other content',
    code: 'CHECKSUM_MISMATCH',
    reason: /v3\/\.ruvector\/intelligence\.json: chunk 3 of \d+ \(blob blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.zst, expected sha256 [0-9a-f]{64}, 1000 bytes\): got sha256/,
    sources: () => [GOOD, { ...intelligence(bigIntelligence()), chunked: { size: 1000, codec: 'zstd', fault: { index: 2, kind: 'other-content' } } }],
  },
  {
    name: 'a chunked file whose second chunk is missing from the bucket',
    code: 'OBJECT_NOT_FOUND',
    reason: /v3\/\.ruvector\/intelligence\.json: chunk 2 of \d+ \(blob blobs\/sha256\/[0-9a-f]{2}\/[0-9a-f]{64}\.gz, expected sha256 [0-9a-f]{64}, 1000 bytes\): the blob is missing from the bucket/,
    sources: () => [GOOD, { ...intelligence(bigIntelligence()), chunked: { size: 1000, codec: 'gzip', fault: { index: 1, kind: 'missing' } } }],
  },
  {
    name: 'a chunked file whose last chunk is a truncated zstd frame',
    code: 'BLOB_CORRUPT',
    reason: /v3\/\.ruvector\/intelligence\.json: chunk (\d+) of \1 \(blob .*\.zst, .*\): expected a complete zstd stream/,
    sources: () => {
      const bytes = bigIntelligence();
      return [GOOD, { ...intelligence(bytes), chunked: { size: 4000, codec: 'zstd', fault: { index: Math.ceil(bytes.length / 4000) - 1, kind: 'truncated' } } }];
    },
  },
  {
    name: 'a chunk list that does not add up to its file',
    code: 'MANIFEST_INVALID',
    reason: /manifest\.sources\[1\]\.chunks: the chunks hold \d+ bytes in all, the file \d+/,
    sources: () => [GOOD, { ...intelligence(bigIntelligence()), chunked: { size: 1000 } }],
    raw: (m) => {
      (source1(m)['chunks'] as unknown[]).pop();
    },
  },
  {
    name: 'a manifest of a format newer than this loader reads',
    code: 'MANIFEST_INVALID',
    reason: /manifest\.formatVersion: this loader reads format versions 1 and 2, got 3 \(written by a newer aqe-upload\): update the loader/,
    sources: () => [GOOD],
    raw: (m) => ({ ...m, formatVersion: 3 }),
  },
  {
    name: 'a manifest with a malformed sha256 field',
    code: 'MANIFEST_INVALID',
    reason: /manifest\.sources\[1\]\.sha256: expected 64 lowercase hex characters/,
    sources: () => [GOOD, intelligence('{"memories":[]}')],
    raw: (m) => {
      source1(m)['sha256'] = 'abc';
    },
  },
  {
    name: 'a manifest with an unknown field',
    code: 'MANIFEST_INVALID',
    reason: /manifest: .*"uploadedBy"|manifest.*uploadedBy/,
    sources: () => [GOOD],
    raw: (m) => ({ ...m, uploadedBy: 'someone' }),
  },
  {
    name: 'a manifest whose path climbs out of the workspace with ..',
    code: 'MANIFEST_INVALID',
    reason: /manifest\.sources\[1\]\.path: expected a normalised path without "\.\."/,
    sources: () => [GOOD, intelligence('{"memories":[]}')],
    raw: (m) => {
      source1(m)['path'] = 'v3/../../etc/intelligence.json';
    },
  },
  {
    name: "a manifest whose environment is not the key's",
    code: 'MANIFEST_ENV_MISMATCH',
    reason: /manifest\.env is "laptop" but it was uploaded under snapshots\/intruder\//,
    env: 'laptop',
    keyEnv: 'intruder',
    sources: () => [GOOD],
  },
  {
    name: 'a SQLite file with corrupted pages',
    code: 'SOURCE_CORRUPT',
    reason: /^v3\/\.agentic-qe\/memory\.db: expected an intact SQLite database, got an error during PRAGMA quick_check/,
    sources: () => {
      const bytes = sqliteBytes('CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT, payload TEXT)', (d) => {
        const ins = d.prepare('INSERT INTO events VALUES (?, ?, ?)');
        d.transaction(() => {
          for (let i = 0; i < 3000; i++) ins.run(`evt-${i}`, 'task:completed', JSON.stringify({ i, pad: 'x'.repeat(100) }));
        })();
      });
      const pageSize = bytes.readUInt16BE(16);
      for (let p = 3; p < 12; p++) bytes.fill(0xa5, p * pageSize, p * pageSize + pageSize);
      return [GOOD, v3(bytes)];
    },
  },
  {
    name: 'a file that claims to be SQLite but is not',
    code: 'SOURCE_CORRUPT',
    reason: /v3\/\.agentic-qe\/memory\.db: expected a SQLite database \(header "SQLite format 3\\0"\)/,
    sources: () => [GOOD, v3(Buffer.from('{"this":"is JSON, not SQLite"} and some padding'))],
  },
  {
    name: 'a number beyond double range in intelligence.json',
    code: 'VALUE_INVALID',
    reason: /intelligence\.json.*expected a number within the double range/,
    sources: () => [GOOD, intelligence('{"patterns":{"s|a":{"state":"s","action":"a","q_value":1e400,"visits":1}}}')],
  },
  {
    name: 'JSON nested deeper than 256 levels',
    code: 'PARSE_FAILED',
    reason: /intelligence\.json: expected JSON nested at most 256 levels deep, got 300 levels/,
    sources: () => [GOOD, intelligence(`{"x":${'['.repeat(299)}${']'.repeat(299)}}`)],
  },
  {
    name: 'invalid UTF-8 in a JSON source',
    code: 'PARSE_FAILED',
    reason: /intelligence\.json: expected UTF-8 JSON, got bytes that are not valid UTF-8/,
    sources: () => [GOOD, intelligence(Buffer.concat([Buffer.from('{"memories":[{"id":"m1","content":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}]}')]))],
  },
  {
    name: 'a NUL character in a JSON member name',
    code: 'VALUE_INVALID',
    reason: /intelligence\.json.*expected a member name without NUL characters/,
    sources: () => [GOOD, intelligence('{"patterns":{"s\\u0000|a":{"q_value":0.5}}}')],
  },
  {
    name: 'a 10 MB value',
    code: 'VALUE_INVALID',
    reason: /intelligence\.json: table "memories", row "0", field "\$\.content": expected a value of at most 8388608 bytes at \$\.memories\[0\]\.content, got 10485760 bytes/,
    sources: () => [GOOD, intelligence(JSON.stringify({ memories: [{ id: 'big', content: 'x'.repeat(10 * 1024 * 1024) }] }))],
  },
  {
    name: 'an embedding BLOB whose length is not dimension * 4',
    code: 'VALUE_INVALID',
    reason: /table "qe_pattern_embeddings", row "qe_pattern_embeddings:p2", field "embedding": expected a Float32 .*got 512 bytes = 128 Float32 values, but the row records dimension 384/,
    sources: () => [
      GOOD,
      v3(
        sqliteBytes('CREATE TABLE qe_pattern_embeddings (pattern_id TEXT PRIMARY KEY, embedding BLOB NOT NULL, dimension INTEGER NOT NULL, model TEXT, created_at TEXT)', (d) => {
          const ins = d.prepare('INSERT INTO qe_pattern_embeddings VALUES (?, ?, ?, ?, ?)');
          ins.run('p1', float32Blob(new Array(384).fill(0.05)), 384, 'all-MiniLM-L6-v2', '2025-01-06 00:00:00');
          ins.run('p2', float32Blob(new Array(128).fill(0.05)), 384, 'all-MiniLM-L6-v2', '2025-01-06 00:00:00');
        }),
      ),
    ],
  },
  {
    name: 'a SQLite table name that is not an identifier',
    code: 'VALUE_INVALID',
    reason: /table "evil; DROP TABLE aqe\.events; --": expected a plain identifier/,
    sources: () => [GOOD, v3(sqliteBytes('CREATE TABLE kv_store (namespace TEXT, key TEXT, value TEXT, PRIMARY KEY (namespace, key)); CREATE TABLE "evil; DROP TABLE aqe.events; --" (id TEXT PRIMARY KEY)'))],
  },
  {
    // a 2 MB gzip may claim to expand to 2.2 GB: in a Cloud Function /tmp is memory (an OOM), and
    // a load that ended "failed" was retried by reconcile forever
    name: 'a manifest declaring a source of 2.2 GB (beyond the loader\'s limit)',
    code: 'SNAPSHOT_TOO_LARGE',
    reason: /^v3\/\.ruvector\/intelligence\.json: 2 GiB uncompressed, more than the 384 MiB one source may expand to in a load\. Exclude or shrink .*raise the loader's limits \(AQE_LOAD_MAX_SOURCE_BYTES.*This snapshot will not be retried\.$/s,
    sources: () => [GOOD, intelligence(Buffer.alloc(2_000_000, 0x20))],
    raw: (m) => {
      source1(m)['size'] = 2_200_000_000;
    },
  },
  {
    // an older uploader put both paths of `"v3-memory": { "paths": [a, b] }` under one id: the
    // second file's rows would overwrite the first's and mark the rest missing
    name: 'two files under one source id holding the same table',
    code: 'MANIFEST_INVALID',
    reason: /manifest\.sources\[2\]\.sourceId: "v3-memory" is also the source id of sources\[1\] \("v3\/\.agentic-qe\/memory\.db"\), and both hold table "kv_store": their rows would overwrite each other/,
    sources: () => {
      const kv = (value: string) => sqliteBytes(`CREATE TABLE kv_store (namespace TEXT, key TEXT, value TEXT, PRIMARY KEY (namespace, key)); INSERT INTO kv_store VALUES ('n', 'k', '${value}')`);
      return [GOOD, { ...v3(kv('new')), tables: [{ name: 'kv_store', rows: 1 }] }, { ...v3(kv('old')), path: 'v3-old/.agentic-qe/memory.db', tables: [{ name: 'kv_store', rows: 1 }] }];
    },
    // written as an older uploader did (today's manifest schema refuses to serialise it)
    raw: (m) => m,
  },
];

describe('a hostile snapshot', () => {
  it.each(CASES)('quarantines $name, writing nothing', async (c) => {
    const env = c.env ?? 'hostile';
    const keyEnv = c.keyEnv ?? env;
    const snapshotId = snapshotIdFor(++next);
    const written = await writeSnapshot(store, { env, keyEnv, snapshotId, sources: c.sources(), ...(c.raw ? { raw: c.raw } : {}) });

    const outcome = await loadSnapshot({ store, db }, written.manifestKey);
    expect(outcome).toMatchObject({ status: 'quarantined', code: c.code, env: keyEnv, snapshotId, reportKey: quarantineReportKey(keyEnv, snapshotId) });
    expect(outcome.status === 'quarantined' ? outcome.reason : '').toMatch(c.reason);

    // the report and the manifest copy in the bucket
    const report = JSON.parse((await store.get(quarantineReportKey(keyEnv, snapshotId))).toString('utf8')) as Record<string, unknown>;
    expect(report).toMatchObject({ code: c.code, manifestKey: written.manifestKey, env: keyEnv, snapshotId, transient: false });
    expect(String(report['reason'])).toMatch(c.reason);
    expect(await store.get(quarantineManifestKey(keyEnv, snapshotId))).toEqual(written.bytes);

    // the quarantine row and the run record
    const q = await db.query<{ code: string; reason: string; env: string }>('SELECT code, reason, env FROM aqe.quarantine WHERE manifest_key = $1', [written.manifestKey]);
    expect(q.rows).toHaveLength(1);
    expect(q.rows[0]).toMatchObject({ code: c.code, env: keyEnv });
    const runs = await db.query<{ status: string }>('SELECT status FROM aqe.sync_runs WHERE manifest_key = $1', [written.manifestKey]);
    expect(runs.rows).toEqual([{ status: 'quarantined' }]);

    // nothing of it in any target table (the good source before the bad one included)
    const totals = await targetTableTotals(db);
    expect(Object.keys(totals).length).toBeGreaterThan(15);
    expect(Object.entries(totals).filter(([, n]) => n !== 0)).toEqual([]);

    // a redelivery is acknowledged without work
    const again = await loadSnapshot({ store, db }, written.manifestKey);
    expect(again).toMatchObject({ status: 'duplicate', previousStatus: 'quarantined' });
    expect((await db.query('SELECT id FROM aqe.quarantine WHERE manifest_key = $1', [written.manifestKey])).rows).toHaveLength(1);
  });
});

describe('limits per load', () => {
  const limits = { maxSources: 3, maxSourceBytes: 4096, maxSnapshotBytes: 6000 };
  const notes = (i: number, bytes: number): HandSource => ({ path: `notes/n${i}.json`, sourceId: `notes-${i}`, format: 'json', bytes: Buffer.from(JSON.stringify({ text: 'x'.repeat(Math.max(0, bytes - 12)) })) });

  it.each([
    { name: 'more source files than a load may read', sources: [0, 1, 2, 3].map((i) => notes(i, 100)), reason: /^the snapshot holds 4 source files, more than the 3 one load may read\./ },
    { name: 'sources that together expand beyond the snapshot limit', sources: [0, 1].map((i) => notes(i, 4000)), reason: /^the snapshot's sources expand to 8 KiB, more than the 6 KiB one load may expand\./ },
  ])('quarantines $name as terminal, before expanding anything, and writes nothing', async ({ sources, reason }) => {
    const written = await writeSnapshot(store, { env: 'limits', snapshotId: snapshotIdFor(++next), sources });
    const outcome = await loadSnapshot({ store, db, limits }, written.manifestKey);
    expect(outcome).toMatchObject({ status: 'quarantined', code: 'SNAPSHOT_TOO_LARGE' });
    expect(outcome.status === 'quarantined' ? outcome.reason : '').toMatch(reason);
    const q = await db.query<{ transient: boolean }>('SELECT transient FROM aqe.quarantine WHERE manifest_key = $1', [written.manifestKey]);
    expect(q.rows).toEqual([{ transient: false }]);
    expect((await db.query(`SELECT 1 FROM aqe.source_rows WHERE source_env = 'limits'`)).rows).toEqual([]);
  });

  it('loads a snapshot within the limits', async () => {
    const written = await writeSnapshot(store, { env: 'limits', snapshotId: snapshotIdFor(++next), sources: [notes(7, 1000), notes(8, 1000)] });
    expect((await loadSnapshot({ store, db, limits }, written.manifestKey)).status).toBe('loaded');
  });
});

describe('SQL-looking keys and values', () => {
  it('load verbatim and harmlessly', async () => {
    const evil = "'; DROP TABLE aqe.events; --";
    const kv = sqliteBytes('CREATE TABLE kv_store (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER, created_at INTEGER NOT NULL, PRIMARY KEY (namespace, key))', (d) => {
      d.prepare('INSERT INTO kv_store VALUES (?, ?, ?, ?, ?)').run(evil, evil, evil, null, 1736121600000);
      d.prepare('INSERT INTO kv_store VALUES (?, ?, ?, ?, ?)').run('ns"); DELETE FROM aqe.sync_runs; --', 'k', JSON.stringify({ sql: evil }), null, 1736121600000);
    });
    const storeJson = Buffer.from(JSON.stringify({ version: '3.0.0', entries: { [evil]: { key: evil, value: evil, namespace: `${evil}\\` } } }));
    const written = await writeSnapshot(store, {
      env: 'sqlish',
      snapshotId: snapshotIdFor(++next),
      sources: [v3(kv), { ...GOOD, bytes: storeJson }],
    });
    const outcome = await loadSnapshot({ store, db }, written.manifestKey);
    // 2 kv rows, 1 store entry, 1 store.json `version` member (source_rows)
    expect(outcome).toMatchObject({ status: 'loaded', totals: { inserted: 4 } });

    const rows = await db.query<{ source_key: string; namespace: string; key: string; value: unknown }>(`SELECT source_key, namespace, key, value FROM aqe.kv_entries WHERE source_env = 'sqlish' ORDER BY key`);
    expect(rows.rows).toEqual([
      { source_key: JSON.stringify([evil, evil]), namespace: evil, key: evil, value: evil },
      { source_key: JSON.stringify(['ns"); DELETE FROM aqe.sync_runs; --', 'k']), namespace: 'ns"); DELETE FROM aqe.sync_runs; --', key: 'k', value: { sql: evil } },
    ]);
    const cf = await db.query<{ source_key: string; key: string; value: unknown; namespace: string }>(`SELECT source_key, key, value, namespace FROM aqe.claude_flow_memory WHERE source_env = 'sqlish'`);
    expect(cf.rows).toEqual([{ source_key: evil, key: evil, value: evil, namespace: `${evil}\\` }]);
    // the tables named in the values are still there, and so are the run records
    const reg = await db.query<{ events: string | null; runs: string | null }>(`SELECT to_regclass('aqe.events')::text AS events, to_regclass('aqe.sync_runs')::text AS runs`);
    expect(reg.rows[0]).toEqual({ events: 'aqe.events', runs: 'aqe.sync_runs' });
    expect(Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM aqe.sync_runs')).rows[0]?.n)).toBeGreaterThan(CASES.length);
  });
});

describe('a chunked source (format 2)', () => {
  it('loads the same rows as the same file in one gzip blob (format 1, what earlier versions wrote)', async () => {
    const bytes = bigIntelligence();
    const whole = await writeSnapshot(store, { env: 'whole-file', snapshotId: snapshotIdFor(++next), sources: [GOOD, intelligence(bytes)] });
    const chunked = await writeSnapshot(store, {
      env: 'chunked',
      snapshotId: snapshotIdFor(++next),
      sources: [GOOD, { ...intelligence(bytes), chunked: { size: 1000, codec: 'zstd' } }],
    });
    expect(chunked.manifest.formatVersion).toBe(2);
    const source = chunked.manifest.sources[1]!;
    expect(source.status === 'captured' && 'chunks' in source ? source.chunks.length : 0).toBe(Math.ceil(bytes.length / 1000));

    const a = await loadSnapshot({ store, db }, whole.manifestKey);
    const b = await loadSnapshot({ store, db }, chunked.manifestKey);
    expect(a.status).toBe('loaded');
    expect(b.status).toBe('loaded');
    if (a.status !== 'loaded' || b.status !== 'loaded') return;
    expect(b.tables).toEqual(a.tables);
    expect(Object.values(b.tables).reduce((n, t) => n + t.inserted, 0)).toBeGreaterThan(200);
  });
});
